"""Test data made through the real services, plus the named example users."""

from __future__ import annotations

from types import SimpleNamespace

from community.models import User
from community.services import accounts, reputation, threads

PASSWORD = "correct horse battery"
_counter = iter(range(1, 10**9))


def make_user(username: str | None = None, role: str = "member", reputation: int | None = None,
              verified: bool = True) -> User:
    """A user whose email counts as verified unless `verified=False` (then a link is owed)."""
    n = next(_counter)
    user = accounts.register(username or f"user{n}", f"{username or 'user' + str(n)}@example.com",
                             PASSWORD, role=role, verified=verified)
    if reputation is not None:
        grant_reputation(user, reputation)
    return user


def grant_reputation(user: User, reputation_wanted: int) -> None:
    """Bring a user to the given reputation through a ledger adjustment."""
    reputation.grant(user, reputation_wanted - user.reputation)


def make_thread(author: User, title: str = "How do I turn on roaming?", body: str = "Details **here**.",
                tags=("roaming",)):
    return threads.ask(author, title, body, list(tags))


def make_answer(author: User, thread, body: str = "Dial `*100#` and choose roaming."):
    return threads.answer(author, thread, body)


def example_users() -> SimpleNamespace:
    return SimpleNamespace(
        asker=make_user("asker"),
        helper=make_user("helper"),
        other=make_user("other"),
        staff=make_user("kestrel_staff", role="staff"),
        moderator=make_user("kestrel_mod", role="moderator"),
        admin=make_user("kestrel_admin", role="admin"),
    )
