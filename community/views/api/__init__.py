"""JSON API v1: the blueprint, bearer-token auth, body and query helpers, and its routes."""

from community.views.api.common import bp

# Each resource module adds its routes to `bp`.
from community.views.api import (bridge, held, notifications, openapi, posts,  # noqa: F401
                                 search, suspensions, threads, tokens, users)
from community.views.api import audit, moderation_threads  # noqa: F401

from community.views.api import moderation, openapi_moderation  # noqa: F401
from community.views.api import openapi_trust  # noqa: F401
from community.views.api import openapi_triage, triage  # noqa: F401
from community.views.api import me, openapi_accounts  # noqa: F401
from community.views.api import openapi_webhooks, webhooks  # noqa: F401

__all__ = ["bp"]
