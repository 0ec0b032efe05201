"""Accounts: registration rules, look-alike staff names, authentication, tokens."""

import pytest

from community.extensions import db
from community.models import User
from community.services import accounts
from community.services.errors import Conflict, Invalid, Unauthorized
from tests.factories import PASSWORD, make_user


def test_register_hashes_the_password(ctx):
    user = accounts.register("priya_k", "priya@example.com", PASSWORD)
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    assert user.role == "member" and user.reputation == 1


@pytest.mark.parametrize("taken", ["Priya_K", "PRIYA_K", "ｐｒｉｙａ_ｋ"])
def test_usernames_are_unique_case_insensitively(ctx, taken):
    accounts.register("priya_k", "priya@example.com", PASSWORD)
    with pytest.raises(Conflict) as exc:
        accounts.register(taken, "other@example.com", PASSWORD)
    assert exc.value.code == "username.taken"


def test_email_is_unique(ctx):
    accounts.register("priya_k", "priya@example.com", PASSWORD)
    with pytest.raises(Conflict) as exc:
        accounts.register("someone", "priya@example.com", PASSWORD)
    assert exc.value.code == "email.taken"


@pytest.mark.parametrize("lookalike", [
    "Kestrel_Sam",     # case and separators differ only
    "KestreI_Sam",     # capital I for l
    "Kеstrel_Sam",     # Cyrillic е
    "Kestrel.Sam",
    "kestrelsam",
])
def test_lookalikes_of_staff_names_are_refused(ctx, lookalike):
    accounts.register("kestrel_sam", "sam@example.com", PASSWORD, role="staff")
    with pytest.raises((Invalid, Conflict)) as exc:
        accounts.register(lookalike, "copy@example.com", PASSWORD)
    assert exc.value.code in ("username.confusable", "username.taken")


def test_lookalikes_of_members_are_allowed(ctx):
    accounts.register("dataroamer", "d@example.com", PASSWORD)
    assert accounts.register("dataroamer2", "d2@example.com", PASSWORD)


def test_arabic_usernames_work(ctx):
    user = accounts.register("سارة_م", "sara@example.com", PASSWORD)
    assert db.session.get(User, user.id).username == "سارة_م"


@pytest.mark.parametrize("name, code", [
    ("ab", "username.invalid"), ("a" * 33, "username.invalid"), ("_lead", "username.invalid"),
    ("has space", "username.invalid"), ("semi;colon", "username.invalid"),
])
def test_bad_usernames(ctx, name, code):
    with pytest.raises(Invalid) as exc:
        accounts.register(name, "x@example.com", PASSWORD)
    assert exc.value.code == code and exc.value.field == "username"


def test_bad_email_and_short_password(ctx):
    with pytest.raises(Invalid) as exc:
        accounts.register("someone", "not-an-email", PASSWORD)
    assert exc.value.code == "email.invalid"
    with pytest.raises(Invalid) as exc:
        accounts.register("someone", "s@example.com", "short")
    assert exc.value.code == "password.length"


def test_authenticate(ctx):
    user = make_user("helper")
    assert accounts.authenticate("HELPER", PASSWORD).id == user.id
    for name, password in [("helper", "wrong password"), ("nobody", PASSWORD)]:
        with pytest.raises(Unauthorized) as exc:
            accounts.authenticate(name, password)
        assert exc.value.code == "auth.invalid"


def test_tokens_are_stored_hashed(ctx):
    user = make_user("helper")
    raw = accounts.issue_token(user)
    assert accounts.user_for_token(raw).id == user.id
    assert accounts.user_for_token(raw + "x") is None
    assert all(raw not in t.token_hash for t in user.tokens)
