"""community: a peer-support forum where customers and staff answer questions together.

`create_app()` (community/app.py) builds the Flask application. Importing a module of the
package stays light: the application and everything it wires up load only when it is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    from community.app import create_app as build

    return build(config)
