"""Flags: members flag posts and comments; moderators resolve every open flag on one at once.

Open `spam` or `abusive` flags add up: when their weight reaches MODERATION_AUTO_HIDE_FLAGS the
content is hidden at once, pending review (an audit entry with no actor). Each distinct flagger
weighs 1, or 2 with at least MODERATION_FLAG_WEIGHT_REPUTATION reputation (None: always 1).
An agreed spam or abusive flag costs the author 100 reputation (a ledger row); dismissing it
later, or restoring the content, reverses it exactly. The queue itself is queue.py.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from community.extensions import db
from community.models import Comment, Flag, Post, Thread, User
from community.models.base import MAX_ID, utcnow
from community.models.moderation import FLAG_OUTCOMES, FLAG_REASONS
from community.services import audit, events, permissions
from community.services.errors import Conflict, Invalid, NotFound
from community.services.moderation import hiding
from community.services.text import clean_text

DETAIL_MAX = 1000
PENALISED = ("spam", "abusive")
# Content hidden when moderators agree starts its reason with this; dismissing restores it.
AGREED_REASON = "Moderators agreed with members' flags"


def _detail(raw: Any, field: str = "detail") -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise Invalid(field, f"{field}.type", f"{field} must be a string.")
    text = clean_text(raw).strip()
    if len(text) > DETAIL_MAX:
        raise Invalid(field, f"{field}.too_long", f"At most {DETAIL_MAX} characters.")
    return text


def _duplicate_of(viewer: User, target: Post | Comment, raw: Any) -> Thread:
    """The original a `duplicate` flag points at: an existing, visible, other thread."""
    if raw is None:
        raise Invalid("duplicate_of", "duplicate_of.required",
                      "Say which thread this duplicates (duplicate_of).")
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise Invalid("duplicate_of", "duplicate_of.type", "duplicate_of is a thread id.")
    thread = db.session.get(Thread, raw) if 0 < raw <= MAX_ID else None
    if thread is None or thread.is_hidden or thread.merged_into_id is not None:
        raise Invalid("duplicate_of", "duplicate_of.not_found", "No such thread.")
    if thread.id == hiding.thread_of(target).id:
        raise Invalid("duplicate_of", "duplicate_of.same", "A thread cannot duplicate itself.")
    return thread


def _open_flags(target: Post | Comment) -> list[Flag]:
    column = Flag.post_id if isinstance(target, Post) else Flag.comment_id
    return list(db.session.scalars(select(Flag).where(column == target.id, Flag.status == "open")
                                   .order_by(Flag.id)))


def weight(user: User) -> int:
    """How much one flagger's spam or abuse flag counts towards hiding content at once."""
    threshold = current_app.config.get("MODERATION_FLAG_WEIGHT_REPUTATION")
    return 2 if threshold is not None and user.reputation >= threshold else 1


def _auto_hide(target: Post | Comment, open_flags: list[Flag]) -> None:
    flaggers = {flag.flagger_id: flag.flagger for flag in open_flags if flag.reason in PENALISED}
    total = sum(weight(user) for user in flaggers.values())
    if total >= current_app.config["MODERATION_AUTO_HIDE_FLAGS"]:
        hiding.apply_hide(None, target, hiding.AUTO_HIDE_REASON)


def flag(actor: User, target: Post | Comment, reason: Any, detail: Any = None,
         duplicate_of: Any = None) -> Flag:
    """Flag a post or comment the actor can see. Active members, not on their own content.

    Raises Unauthorized, Forbidden (`flag.own_content`), Invalid (`flag.reason`, a
    `duplicate_of` that is missing, hidden or the same thread) or Conflict (`flag.duplicate`:
    the actor's flag on it is still open). May hide the content at once (see the module).
    """
    permissions.require(actor, "content.flag", target)
    if not isinstance(reason, str) or reason not in FLAG_REASONS:
        raise Invalid("reason", "flag.reason", f"reason is one of {', '.join(FLAG_REASONS)}.")
    text = _detail(detail)
    original = _duplicate_of(actor, target, duplicate_of) if reason == "duplicate" else None
    open_flags = _open_flags(target)
    if any(item.flagger_id == actor.id for item in open_flags):
        raise Conflict("flag.duplicate", "You have already flagged this; moderators will look.")
    item = Flag(post_id=target.id if isinstance(target, Post) else None,
                comment_id=target.id if isinstance(target, Comment) else None,
                flagger=actor, reason=reason, detail=text,
                duplicate_of_id=original.id if original else None)
    db.session.add(item)
    db.session.flush()
    events.publish("post.flagged", thread_id=hiding.thread_of(target).id, flag_id=item.id,
                   target_kind=hiding.kind_of(target), target_id=target.id, reason=reason)
    if reason in PENALISED:
        _auto_hide(target, [*open_flags, item])
    db.session.commit()
    return item


def get_flag(viewer: User | None, flag_id: int) -> Flag:
    """A flag, for staff (who read the queue). Raises Unauthorized, Forbidden or NotFound."""
    permissions.require(viewer, "moderation.read")
    item = db.session.get(Flag, flag_id) if 0 < flag_id <= MAX_ID else None
    if item is None:
        raise NotFound("flag.not_found", "No such flag.")
    return item


def target_of(item: Flag) -> Post | Comment:
    return item.post if item.post_id is not None else item.comment


def _round(item: Flag) -> list[Flag]:
    """The flags decided together with `item` (same target, same moment)."""
    column = Flag.post_id if item.post_id is not None else Flag.comment_id
    return list(db.session.scalars(select(Flag).where(
        column == item.target_id, Flag.status == "resolved",
        Flag.resolved_at == item.resolved_at).order_by(Flag.id)))


def _consequences(actor: User, target: Post | Comment, flags: list[Flag], outcome: str,
                  note: str, hide: bool) -> None:
    shown = hiding.effective(target)
    if outcome == "agreed":
        if any(item.reason in PENALISED for item in flags):
            hiding.apply_penalty(target)
        if hide:
            hiding.apply_hide(actor, target, f"{AGREED_REASON}{': ' + note if note else '.'}")
        return
    hiding.undo_penalty(target)
    if shown.is_hidden and (shown.hidden_reason == hiding.AUTO_HIDE_REASON
                            or shown.hidden_reason.startswith(AGREED_REASON)):
        hiding.apply_restore(actor, target, "Flags dismissed.")


def resolve(actor: User, item: Flag, outcome: Any, note: Any = None, hide: Any = False) -> Flag:
    """Decide on a flagged post or comment: every open flag on it is resolved as `outcome`.

    Moderators and admins. `agreed` may also hide the content (`hide`), and for spam or abuse
    costs its author reputation; `dismissed` restores content that flags hid. A flag already
    resolved is decided again (with its round): the earlier outcome's effects are undone.
    The flaggers are told (notifications). Raises Unauthorized, Forbidden, Invalid
    (`flag.outcome`) or Conflict (`flag.resolved`: the same decision again).
    """
    permissions.require(actor, "moderation.act", item)
    if not isinstance(outcome, str) or outcome not in FLAG_OUTCOMES:
        raise Invalid("outcome", "flag.outcome", f"outcome is one of {', '.join(FLAG_OUTCOMES)}.")
    if not isinstance(hide, bool):
        raise Invalid("hide", "hide.type", "hide is true or false.")
    text = _detail(note, "note")
    target = target_of(item)
    flags = _open_flags(target) if item.status == "open" else _round(item)
    if item.status != "open" and item.outcome == outcome and not (hide and outcome == "agreed"):
        raise Conflict("flag.resolved", f"These flags were already {outcome}.")
    previous = item.outcome
    now = utcnow()
    for each in flags:
        each.status, each.outcome, each.resolved_by, each.resolved_at = (
            "resolved", outcome, actor, now)
        each.resolution_note = text
    audit.record(actor, "flag.resolve", hiding.kind_of(target), target.id, reason=text,
                 before={"outcome": previous}, after={"outcome": outcome, "hide": hide,
                                                      "flag_ids": [f.id for f in flags]})
    _consequences(actor, target, flags, outcome, text, hide)
    events.publish("flag.resolved", thread_id=hiding.thread_of(target).id, outcome=outcome,
                   flag_ids=[f.id for f in flags], target_kind=hiding.kind_of(target),
                   target_id=target.id, actor_id=actor.id)
    db.session.commit()
    return item
