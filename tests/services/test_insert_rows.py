"""models.base.insert_rows: the Core bulk insert behind the bridge's intake returns each row's
own id, in order, also when several transactions insert into one table at once (on SQLite it
numbers the rows itself, so this is the test that its write lock keeps those numbers free)."""

from __future__ import annotations

import threading

from sqlalchemy import select

from community.extensions import db
from community.models import User
from community.models.base import insert_rows

WRITERS, BATCHES, ROWS = 4, 3, 25


def user_rows(prefix: str, count: int) -> list[dict]:
    return [{"username": f"{prefix}u{i}", "username_key": f"{prefix}u{i}",
             "email": f"{prefix}u{i}@example.invalid", "role": "member", "bio": "",
             "password_hash": None} for i in range(count)]


def insert_and_commit(rows: list[dict]) -> list[int]:
    """No retry: numbers taken twice would fail the insert, which is what this test looks for."""
    ids = insert_rows(db.session.connection(), User.__table__, rows)
    db.session.commit()
    return ids


def test_batches_inserted_at_once_each_get_their_own_rows_ids(app, ctx):
    returned: dict[str, list[int]] = {}
    start = threading.Barrier(WRITERS)
    failures = []

    def write(writer: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for batch in range(BATCHES):
                    prefix = f"w{writer}b{batch}"
                    returned[prefix] = insert_and_commit(user_rows(prefix, ROWS))
                db.session.remove()
        except Exception as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    names = dict(db.session.execute(select(User.id, User.username)).all())
    for prefix, ids in returned.items():
        assert [names[user_id] for user_id in ids] == [f"{prefix}u{i}" for i in range(ROWS)]
    assert len(names) == WRITERS * BATCHES * ROWS


def test_one_row_and_no_rows(ctx):
    assert insert_rows(db.session.connection(), User.__table__, []) == []
    [user_id] = insert_rows(db.session.connection(), User.__table__, user_rows("single", 1))
    db.session.commit()
    assert db.session.get(User, user_id).username == "singleu0"
