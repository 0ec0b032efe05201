"""Linking a channel identity to a forum account: the member asks for a one-time code and sends
it to us from their channel account ("LINK K7PQ-XM2R-HT9W"); they can unlink it again.

Codes are long and random (about 59 bits), single-use, short-lived and bound to the member who
asked. An identity or a channel that sends too many wrong codes in an hour is refused, even
with the right one, until the hour has passed; staff see those messages in the bridge log as
`link_failed` and `link_blocked`. The member is told of every link by email, with a one-click
unlink.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select

from community.extensions import db
from community.models import ExternalIdentity, InboundMessage, LinkCode, User
from community.models.base import MAX_ID, utcnow
from community.services import events, permissions
from community.services.bridge.replies import notice, owe
from community.services.errors import NotFound

# Letters and digits nobody confuses when reading or typing on a phone (no 0/O, 1/I/L, U/V).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_LENGTH = 12
LINK_RE = re.compile(r"^\s*link\s+([0-9a-z][0-9a-z -]{5,40})\s*$", re.IGNORECASE)
LINK_CODE_LIFETIME = timedelta(minutes=15)
FAILURE_WINDOW = timedelta(hours=1)
UNLINK_SALT = "bridge.unlink"


def new_link_code(actor: User) -> str:
    """A one-time code, shown once, that the member sends us from their channel account.
    Members only. Commits."""
    permissions.require(actor, "bridge.link")
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    db.session.add(LinkCode(user_id=actor.id, code_hash=_code_hash(code),
                            expires_at=utcnow() + LINK_CODE_LIFETIME))
    db.session.commit()
    return "-".join(code[start:start + 4] for start in range(0, CODE_LENGTH, 4))


def _code_hash(code: str) -> str:
    typed = re.sub(r"[\s-]+", "", code).upper()
    return hashlib.sha256(f"{current_app.secret_key}:link:{typed}".encode()).hexdigest()


def link_identity(row: InboundMessage, code: str) -> str:
    """The sender of `row` sent a link code: link their identity if it is valid and they have
    not been guessing, and tell them either way. The intake outcome. Flushes, never commits."""
    config = current_app.config
    if (_recent_failures(InboundMessage.identity_id == row.identity.id)
            >= config["BRIDGE_LINK_FAILURES_PER_IDENTITY"]
            or _recent_failures(InboundMessage.channel_id == row.channel_id)
            >= config["BRIDGE_LINK_FAILURES_PER_CHANNEL"]):
        if not _recent_failures(InboundMessage.identity_id == row.identity.id, "link_blocked"):
            owe(notice(row, "Too many wrong codes were sent from this account. Wait an hour, "
                            "then get a new code on your profile page."))
        return "link_blocked"
    claim = db.session.scalar(select(LinkCode).where(
        LinkCode.code_hash == _code_hash(code), LinkCode.used_at.is_(None),
        LinkCode.expires_at > utcnow()))
    if claim is None:
        owe(notice(row, "That code is not valid or has expired. Get a new one on your profile "
                        "page."))
        return "link_failed"
    claim.used_at = utcnow()
    identity = row.identity
    identity.linked_user_id, identity.linked_at = claim.user_id, utcnow()
    owe(notice(row, f"Done: this account is now linked to {claim.user.username} on our "
                    "community."))
    db.session.flush()
    events.publish("identity.linked", identity_id=identity.id, user_id=claim.user_id)
    return "linked"


def _recent_failures(which, outcome: str = "link_failed") -> int:
    """Link messages with `outcome` in the last hour, among those `which` picks."""
    return db.session.scalar(select(func.count()).select_from(InboundMessage).where(
        InboundMessage.outcome == outcome, InboundMessage.received_at > utcnow() - FAILURE_WINDOW,
        which)) or 0


def linked_identities(user: User) -> list[ExternalIdentity]:
    """The channel identities linked to `user`'s account."""
    return list(db.session.scalars(select(ExternalIdentity).where(
        ExternalIdentity.linked_user_id == user.id).order_by(ExternalIdentity.id)))


def unlink(actor: User, identity_id: int) -> ExternalIdentity:
    """The member takes a linked identity off their account: its next messages are by its
    shadow account again. Own identities only (NotFound for any other). Commits."""
    permissions.require(actor, "bridge.unlink")
    identity = (db.session.get(ExternalIdentity, identity_id)
                if isinstance(identity_id, int) and 0 < identity_id <= MAX_ID else None)
    if identity is None or identity.linked_user_id != actor.id:
        raise NotFound("identity.not_found", "No such linked account.")
    identity.linked_user_id = identity.linked_at = None
    db.session.commit()
    return identity


def unlink_token(identity: ExternalIdentity) -> str:
    """A signed token that unlinks this link (and no later one), for the email's one click."""
    return _serializer().dumps({"i": identity.id, "u": identity.linked_user_id,
                                "t": identity.linked_at.isoformat()})


def unlink_by_token(token: str) -> ExternalIdentity:
    """Unlink what an email's token names. NotFound for a bad token or a link since undone."""
    try:
        data = _serializer().loads(token)
        identity = db.session.get(ExternalIdentity, int(data["i"])) \
            if isinstance(data, dict) and 0 < int(data["i"]) <= MAX_ID else None
    except (BadSignature, KeyError, TypeError, ValueError):
        identity = None
    if (identity is None or identity.linked_user_id != data.get("u")
            or identity.linked_at is None or identity.linked_at.isoformat() != data.get("t")):
        raise NotFound("unlink.invalid", "This unlink link is not valid any more.")
    identity.linked_user_id = identity.linked_at = None
    db.session.commit()
    return identity


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNLINK_SALT)
