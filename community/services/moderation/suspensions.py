"""Suspensions: moderators suspend and unsuspend users, and block and unblock the channel
identities the bridge takes messages from. A suspended user reads but writes nothing
(permissions._active_member); a blocked identity's messages are kept for staff but make no
threads and get no acknowledgements (services/bridge/intake.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select

from community.extensions import db
from community.models import ExternalIdentity, User
from community.models.base import MAX_ID, utcnow
from community.models.users import SUSPENDED_INDEFINITELY
from community.services import audit, events, permissions
from community.services.errors import Invalid, NotFound
from community.services.moderation.reasons import optional_reason, required_reason

INDEFINITELY = SUSPENDED_INDEFINITELY.replace(tzinfo=UTC)


def parse_until(raw: Any) -> datetime | None:
    """`until` as clients send it: None (no end date), an ISO date (the suspension ends as that
    day starts, UTC) or an ISO datetime (UTC unless it names an offset). Raises Invalid."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("until", "until.invalid", "until is an ISO date or datetime, or null.")
    text = raw.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("until", "until.invalid",
                      "until is an ISO date (2030-01-31) or datetime, or null.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)




def _state(user: User) -> dict[str, Any]:
    until = user.suspended_until
    return {"suspended_until": until.isoformat() if until else None,
            "reason": user.suspension_reason}


def suspend(actor: User | None, user: User, until: datetime | None, reason: str | None) -> User:
    """Suspend `user` until `until` (None: no end date), with a reason they are told.

    Moderators and admins (only an admin suspends an admin; nobody themselves); actor None is
    the command line. A later suspension replaces an earlier one. Raises Forbidden, Invalid
    (`until.past`, `reason.required`).
    """
    if actor is not None:
        permissions.require(actor, "user.suspend", user)
    reason = required_reason(reason)
    if until is not None and until <= utcnow():
        raise Invalid("until", "until.past", "until must be in the future.")
    before = _state(user)
    user.suspended_until = until if until is not None else INDEFINITELY
    user.suspension_reason = reason
    audit.record(actor, "user.suspend", "user", user.id, reason=reason, before=before,
                 after=_state(user))
    events.publish("user.suspended", user_id=user.id)
    db.session.commit()
    return user


def unsuspend(actor: User | None, user: User, reason: str | None = None) -> User:
    """End `user`'s suspension now. Same permission as suspending; Invalid `user.not_suspended`
    when there is none."""
    if actor is not None:
        permissions.require(actor, "user.suspend", user)
    if not user.is_suspended:
        raise Invalid("user", "user.not_suspended", "This user is not suspended.")
    before = _state(user)
    user.suspended_until = None
    user.suspension_reason = ""
    audit.record(actor, "user.unsuspend", "user", user.id, reason=(reason or "").strip(),
                 before=before, after=_state(user))
    events.publish("user.unsuspended", user_id=user.id)
    db.session.commit()
    return user


def user_by_name(username: str) -> User:
    """A user by exact username (the command line); NotFound `user.not_found`."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("user.not_found", f"No user named {username!r}.")
    return user


def get_identity(actor: User, identity_id: int) -> ExternalIdentity:
    """A channel identity, for moderators; NotFound `identity.not_found`."""
    permissions.require(actor, "moderation.act")
    identity = db.session.get(ExternalIdentity, identity_id) if 0 < identity_id <= MAX_ID else None
    if identity is None:
        raise NotFound("identity.not_found", "No such channel identity.")
    return identity


def set_identity_blocked(actor: User, identity: ExternalIdentity, blocked: bool,
                         reason: str | None) -> ExternalIdentity:
    """Block (or unblock) a bridged identity: its later messages are stored for staff but make
    no threads or comments and get no acknowledgement. Moderators; a reason is required to
    block. Raises Forbidden, Invalid."""
    permissions.require(actor, "moderation.act")
    reason = required_reason(reason) if blocked else optional_reason(reason)
    if identity.is_blocked != blocked:
        identity.is_blocked = blocked
        audit.record(actor, "identity.block" if blocked else "identity.unblock", "identity",
                     identity.id, reason=reason, before={"blocked": not blocked},
                     after={"blocked": blocked})
    db.session.commit()
    return identity
