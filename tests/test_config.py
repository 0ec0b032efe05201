"""Settings in three layers, and the secret key generated once into the instance folder."""

import gc
import os

import pytest

from community import create_app
from community.extensions import socketio


@pytest.fixture(autouse=True)
def _keep_the_session_apps_socket_server():
    """create_app binds the one Flask-SocketIO extension to each new app: give the session app
    its Socket.IO server back, or live tests later in this process lose their clients."""
    server = socketio.server
    yield
    socketio.server = server


def test_secret_key_is_generated_once_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("COMMUNITY_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert len(first.config["SECRET_KEY"]) >= 64


def test_instance_file_then_environment_override_defaults(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("PAGE_SIZE = 12\nTITLE_MIN = 10\n", encoding="utf-8")
    monkeypatch.setenv("COMMUNITY_TITLE_MIN", "15")
    monkeypatch.setenv("COMMUNITY_SESSION_COOKIE_SECURE", "false")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.example/community")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["PAGE_SIZE"] == 12          # instance/config.py
    assert app.config["TITLE_MIN"] == 15          # environment beats the instance file
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example/community"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'community.db'}"
    assert os.path.isdir(tmp_path)


def test_the_search_index_writer_setting_is_checked_at_start(tmp_path):
    settings = {"INSTANCE_PATH": str(tmp_path), "SEARCH_BACKEND": "whoosh"}
    with pytest.raises(RuntimeError, match="SEARCH_INDEX_WRITER"):
        create_app({**settings, "SEARCH_INDEX_WRITER": "elsewhere"})
    for writer in ("process", "thread"):
        assert create_app({**settings, "SEARCH_INDEX_WRITER": writer})


def test_what_start_up_made_is_left_out_of_garbage_collection(tmp_path):
    before = gc.get_freeze_count()
    create_app({"INSTANCE_PATH": str(tmp_path)})
    # The new app's objects joined the frozen ones: full passes no longer walk them.
    assert gc.get_freeze_count() > before + 1000
