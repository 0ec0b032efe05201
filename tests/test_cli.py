"""The `community` command: users create, demo load."""

from sqlalchemy import func, select

from community.extensions import db
from community.models import Thread, User


def test_users_create_staff(runner, ctx):
    result = runner.invoke(args=["users", "create", "Kestrel_Sam", "--email", "sam@example.com",
                                 "--password", "long enough pw", "--role", "staff"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.role).where(User.username == "Kestrel_Sam")) == "staff"
    result = runner.invoke(args=["users", "create", "KestreI_Sam", "--email", "x@example.com",
                                 "--password", "long enough pw"])
    assert result.exit_code != 0 and "username.confusable" in result.output


def test_demo_load_once(runner, ctx):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    threads = db.session.scalar(select(func.count()).select_from(Thread))
    assert threads >= 30
    statuses = set(db.session.scalars(select(Thread.status)))
    assert statuses == {"unanswered", "answered", "solved"}
    assert db.session.scalar(select(func.count()).select_from(User).where(User.role == "staff"))
    arabic = [t for t in db.session.scalars(select(Thread.title)) if any("\u0600" <= c <= "\u06ff" for c in t)]
    assert len(arabic) >= 2
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert again.exit_code == 0 and "not loaded" in again.output
    assert runner.invoke(args=["demo", "load"]).exit_code != 0
