"""WSGI entry for the bench: the real app, as production builds it, on the bench instance.

gunicorn --pythonpath bench wsgi:app, with BENCH_INSTANCE_PATH set (and BENCH_DATABASE_URL for
PostgreSQL). Everything else comes from the environment as in production; run.py sets
COMMUNITY_RATELIMIT_ENABLED=false so the load generator is not throttled.
"""

from __future__ import annotations

import os
from pathlib import Path

from community import create_app

_instance = Path(os.environ["BENCH_INSTANCE_PATH"])
# Explicit URI, so a DATABASE_URL in the environment can never point the bench elsewhere.
app = create_app({
    "INSTANCE_PATH": str(_instance),
    "SQLALCHEMY_DATABASE_URI": (os.environ.get("BENCH_DATABASE_URL")
                                or f"sqlite:///{_instance / 'community.db'}"),
})
