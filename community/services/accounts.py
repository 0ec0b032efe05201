"""Accounts: sign-up, log-in, API tokens and roles."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from community.extensions import db
from community.models import ApiToken, User
from community.models.base import MAX_ID, insert_rows, utcnow
from community.models.users import ROLES, STAFF_ROLES
from community.services import audit, events, permissions
from community.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from community.services.homoglyphs import looks_like
from community.services.text import clean_text, is_encodable

USERNAME_RE = re.compile(r"^[^\W_][\w.-]{2,31}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 256
# A fixed hash to compare against when the username is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def username_key(username: str) -> str:
    return unicodedata.normalize("NFKC", username).casefold()


def _clean_username(raw: str) -> str:
    username = unicodedata.normalize("NFKC", clean_text(raw))
    if not USERNAME_RE.fullmatch(username):
        raise Invalid("username", "username.invalid",
                      "Usernames are 3 to 32 letters, digits, dots, dashes or underscores, "
                      "starting with a letter or digit.")
    return username


def _clean_email(raw: str) -> str:
    try:
        return validate_email(clean_text(raw), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Invalid("email", "email.invalid", str(exc)) from None


def _check_password(password: str, username: str) -> None:
    if not is_encodable(password):
        raise Invalid("password", "password.invalid", "Passwords must be valid Unicode text.")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid("password", "password.length",
                      f"Passwords are {PASSWORD_MIN} to {PASSWORD_MAX} characters.")
    if not any(char.isprintable() and not char.isspace() for char in password):
        raise Invalid("password", "password.blank",
                      "A password needs letters, digits or symbols, not only spaces.")
    if username_key(password) == username_key(username):
        raise Invalid("password", "password.username", "Your password cannot be your username.")
    if is_common_password(password):
        raise Invalid("password", "password.common",
                      "That password is one of the most common ones; choose another.")


def normalize_email(raw: str) -> str:
    """A well-formed address in its normal form; Invalid `email.invalid` otherwise."""
    return _clean_email(raw)


def check_new_password(password: str, username: str) -> None:
    """The rules every new password follows (sign-up, reset, change); raises Invalid."""
    _check_password(password, username)


def find_by_email(email: str) -> User | None:
    """The account with this address, compared case-blind (MALLORY@ and mallory@ are one)."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def is_common_password(password: str) -> bool:
    """One of the passwords people choose most often (zxcvbn's list of leaked passwords), which
    attackers try first."""
    return password.casefold() in _common_passwords()


@functools.cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _staff_names() -> list[str]:
    return list(db.session.scalars(select(User.username).where(User.role.in_(STAFF_ROLES))))


def _is_staff_lookalike(username: str, staff_names: list[str] | None = None) -> bool:
    staff_names = _staff_names() if staff_names is None else staff_names
    return any(looks_like(username, staff_name) for staff_name in staff_names)


def is_staff_lookalike(name: str) -> bool:
    """True when `name` looks like a staff member's name (homoglyphs, case)."""
    return _is_staff_lookalike(name)


def _refuse_staff_lookalike(username: str) -> None:
    if _is_staff_lookalike(username):
        raise Invalid("username", "username.confusable",
                      "That name looks too much like a staff member's name.")


def register(username: str, email: str, password: str, *, role: str = "member",
             bio: str = "", locale: str | None = None, verified: bool = False) -> User:
    """Create an account. Anyone may call this (sign-up); only the CLI passes a role. Unless
    `verified` (the CLI, test factories), a link to verify the email is owed after commit.

    Raises Invalid for a malformed name, email, password or role, Invalid
    (`username.confusable`) for a look-alike of a staff name, and Conflict when the name or
    email is taken.
    """
    username = _clean_username(username)
    email = _clean_email(email)
    _check_password(password, username)
    if role not in ROLES:
        raise Invalid("role", "role.invalid", f"Role must be one of {', '.join(ROLES)}.")
    key = username_key(username)
    if db.session.scalar(select(User.id).where(User.username_key == key)):
        raise Conflict("username.taken", "That username is taken.", field="username")
    # Addresses differ in case only by mistake: MALLORY@ and mallory@ are one mailbox.
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise Conflict("email.taken", "An account with that email already exists.", field="email")
    _refuse_staff_lookalike(username)
    user = User(username=username, username_key=key, email=email, role=role, bio=bio.strip(),
                locale=locale, password_hash=hash_password(password),
                email_verified_at=utcnow() if verified else None)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Another sign-up with the same name or email committed between our check and insert.
        db.session.rollback()
        raise Conflict("username.taken", "That username or email is taken.", field="username") from None
    events.publish("user.created", user_id=user.id)
    if not verified:
        events.publish("account.verification_requested", user_id=user.id)
    db.session.commit()
    return user


@dataclass(frozen=True)
class ShadowDraft:
    preferred: str
    email: str
    suffix: str = ""
    role: str = "member"
    bio: str = ""


def shadow_user(preferred: str, email: str, *, suffix: str = "", role: str = "member",
                bio: str = "") -> User:
    """An account with no password for someone who reaches us another way (a social channel).

    The name is `preferred` made valid, plus `suffix`, made unique with a number when taken; a
    look-alike of a staff name becomes "customer" instead. Does not commit (shared helpers leave
    the unit of work to their caller).
    """
    return db.session.get(User, shadow_users([ShadowDraft(preferred, email, suffix, role, bio)])[0])


def shadow_users(drafts: list[ShadowDraft]) -> list[int]:
    """`shadow_user` for a batch (the bridge takes in a burst of new customers): one query finds
    which of the wanted names are taken, and only a taken name costs more. Their ids."""
    wanted = []
    staff_names = _staff_names()
    for draft in drafts:
        stem = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFKC", clean_text(draft.preferred)))
        stem = stem.strip("._-")[:32 - len(draft.suffix) - 4] or "customer"
        if draft.role not in STAFF_ROLES and _is_staff_lookalike(stem, staff_names):
            stem = "customer"
        wanted.append(stem)
    keys = {username_key(stem + draft.suffix) for stem, draft in zip(wanted, drafts)}
    checked = dict.fromkeys(keys, False)
    checked.update(dict.fromkeys(db.session.scalars(
        select(User.username_key).where(User.username_key.in_(keys))), True))
    rows, now = [], utcnow()
    for stem, draft in zip(wanted, drafts):
        name = _free_name(stem, draft.suffix, checked)
        checked[username_key(name)] = True
        rows.append({"username": name, "username_key": username_key(name), "email": draft.email,
                     "role": draft.role, "bio": draft.bio[:500], "password_hash": None,
                     # Bridge accounts need no verification (no one logs in to them).
                     "email_verified_at": now})
    user_ids = insert_rows(db.session.connection(), User.__table__, rows)
    for user_id in user_ids:
        events.publish("user.created", user_id=user_id)
    return user_ids


def _free_name(stem: str, suffix: str, taken: dict[str, bool]) -> str:
    """`stem + suffix`, else with the first free number; `taken` caches what is known."""
    for attempt in range(1000):
        base = stem + suffix
        name = base if attempt == 0 and len(base) >= 3 else f"{stem}{attempt + 1}{suffix}"
        key = username_key(name)
        if key not in taken:
            taken[key] = bool(db.session.scalar(select(User.id).where(User.username_key == key)))
        if not taken[key]:
            return name
    raise Conflict("username.taken", "No free name for this account.", field="username")


def system_user(username: str, *, role: str, bio: str = "") -> User:
    """A named account that speaks for the team (a channel's own replies); no password."""
    return shadow_user(username, f"{username_key(username)}@system.invalid", role=role, bio=bio)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def authenticate(username: str, password: str) -> User:
    """Return the user whose name and password match; raises Unauthorized `auth.invalid`
    otherwise, and Forbidden `user.suspended` for a suspended account (no new session or
    token)."""
    key = username_key(clean_text(username))
    user = db.session.scalar(select(User).where(User.username_key == key))
    if not is_encodable(password) or user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, "not-a-real-password")  # same cost, so timing tells nothing
        raise Unauthorized("auth.invalid", "Wrong username or password.")
    if not check_password_hash(user.password_hash, password):
        raise Unauthorized("auth.invalid", "Wrong username or password.")
    if user.is_suspended:
        raise Forbidden("user.suspended", "This account is suspended; it cannot log in.")
    return user


def issue_token(user: User, name: str = "") -> str:
    """Create an API token for `user` and return it; only its hash is stored."""
    raw = "cm_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=_token_hash(raw), name=clean_text(name)[:100]))
    db.session.commit()
    return raw


def user_for_token(raw: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(raw)))
    return token.user if token else None


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def set_role(actor: User | None, user: User, role: str) -> User:
    """Change a user's role. Admins only (`actor=None` means the command line)."""
    if actor is not None:
        permissions.require(actor, "user.set_role", user)
    if role not in ROLES:
        raise Invalid("role", "role.invalid", f"Role must be one of {', '.join(ROLES)}.")
    audit.record(actor, "user.set_role", "user", user.id, before={"role": user.role},
                 after={"role": role})
    user.role = role
    db.session.commit()
    return user



def get_user(user_id: int) -> User:
    """A user by id; NotFound `user.not_found` otherwise (a deleted account too)."""
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or user.deleted_at is not None:
        raise NotFound("user.not_found", "No such user.")
    return user
