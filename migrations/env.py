"""Alembic environment: the app's engine and metadata come from Flask-Migrate's `db`."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from community.models.base import UTCDateTime

config = context.config
fileConfig(config.config_file_name, disable_existing_loggers=False)
log = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db


def render_item(kind, obj, autogen_context):
    """Write our UTC type as a plain DateTime so migrations never import application code."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def skip_empty(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in schema detected.")


def run_migrations_offline():
    context.configure(url=str(db.engine.url), target_metadata=db.metadata, literal_binds=True,
                      render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    with db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata,
                          render_item=render_item, process_revision_directives=skip_empty,
                          # SQLite alters tables by copying them; batch mode does that for us.
                          render_as_batch=connection.dialect.name == "sqlite",
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
