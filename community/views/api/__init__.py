"""JSON API v1: the blueprint, bearer-token auth, body and query helpers, and its routes."""

from community.views.api.common import bp

# Each resource module adds its routes to `bp`.
from community.views.api import (bridge, notifications, openapi, posts, search,  # noqa: F401
                                 threads, tokens, users)

__all__ = ["bp"]
