"""Linking a channel identity to a forum account: the member asks for a one-time code and sends
it to us from their channel account ("LINK 123456")."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from community.extensions import db
from community.models import ExternalIdentity, InboundMessage, LinkCode, User
from community.models.base import utcnow
from community.services import permissions
from community.services.bridge.replies import notice, owe

LINK_RE = re.compile(r"^\s*link\s+(\d{6})\s*$", re.IGNORECASE)
LINK_CODE_LIFETIME = timedelta(minutes=15)


def new_link_code(actor: User) -> str:
    """A one-time code the member sends us from their channel account. Members only."""
    permissions.require(actor, "bridge.link")
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        digest = _code_hash(code)
        if not db.session.scalar(select(LinkCode.id).where(LinkCode.code_hash == digest)):
            break
    db.session.add(LinkCode(user_id=actor.id, code_hash=digest,
                            expires_at=utcnow() + LINK_CODE_LIFETIME))
    db.session.commit()
    return code


def _code_hash(code: str) -> str:
    return hashlib.sha256(f"{current_app.secret_key}:{code}".encode()).hexdigest()


def link_identity(row: InboundMessage, code: str) -> str:
    """The sender of `row` sent a link code: link their identity if it is valid, and tell them
    either way. The intake outcome. Flushes, never commits."""
    claim = db.session.scalar(select(LinkCode).where(
        LinkCode.code_hash == _code_hash(code), LinkCode.used_at.is_(None),
        LinkCode.expires_at > utcnow()))
    if claim is None:
        owe(notice(row, "That code is not valid or has expired. Get a new one on your profile "
                        "page."))
        return "ignored"
    claim.used_at = utcnow()
    row.identity.linked_user_id, row.identity.linked_at = claim.user_id, utcnow()
    owe(notice(row, f"Done: this account is now linked to {claim.user.username} on our "
                    "community."))
    return "linked"


def linked_identities(user: User) -> list[ExternalIdentity]:
    """The channel identities linked to `user`'s account."""
    return list(db.session.scalars(select(ExternalIdentity).where(
        ExternalIdentity.linked_user_id == user.id).order_by(ExternalIdentity.id)))
