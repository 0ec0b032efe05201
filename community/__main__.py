"""The `community` command (and `python -m community`): the Flask CLI bound to this app, with
the commands of community/cli.py."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from community.app import create_app


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main() -> None:
    """Manage and run the community forum."""


if __name__ == "__main__":
    main()
