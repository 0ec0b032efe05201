"""create_app(): the Flask application, from settings, extensions, blueprints, the after-commit
workers and the command line."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from community import cli, models, realtime, search, security, sqlite, workers  # noqa: F401
from community import config as settings
from community.extensions import cache, csrf, db, limiter, login_manager, migrate, socketio
from community.services import events
from community.services import search as search_service
from community.views import register_blueprints

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Settings → extensions → search → workers → blueprints → Socket.IO handlers → CLI."""
    instance_path = Path(os.environ.get("COMMUNITY_INSTANCE_PATH") or PROJECT_ROOT / "instance")
    if config and config.get("INSTANCE_PATH"):
        instance_path = Path(config["INSTANCE_PATH"])
    instance_path.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(instance_path.resolve()),
                template_folder=str(PROJECT_ROOT / "templates"),
                static_folder=str(PROJECT_ROOT / "static"))
    settings.load(app.config, instance_path, config)

    _init_database(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    socketio.init_app(app, async_mode="threading",
                      message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
                      # None: only pages from this same host may open a socket.
                      cors_allowed_origins=None, manage_session=False)

    events.init_app(app)
    search.init_app(app)
    search_service.init_app(app)
    workers.init_app(app)
    security.init_app(app)
    register_blueprints(app)
    realtime.init_app(app)
    cli.init_app(app)
    _freeze_startup_objects()
    return app


def _freeze_startup_objects() -> None:
    """Leave what start-up made (modules, the app, its extensions: ~150,000 objects that live as
    long as the process) out of the garbage collector's passes. Its full passes otherwise walk
    them all again and again, a cost a server pays all through a burst of webhooks. Start-up's
    own garbage is collected first, so none of it is kept for good."""
    gc.collect()
    gc.freeze()


def _init_database(app: Flask) -> None:
    db.init_app(app)  # the tables are on the metadata: importing community.models put them there
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sqlite.init_engine(db.engine)
