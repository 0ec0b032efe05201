"""The one permission table: can(user, action, target) for every write in the product."""

from __future__ import annotations

from typing import Any, Callable

from flask import current_app

from community.models import User
from community.models.users import SUSPENDED_INDEFINITELY
from community.services.errors import Forbidden, Unauthorized

# Each rule returns None when allowed, or (code, message) when refused.
Rule = Callable[[User | None, Any], tuple[str, str] | None]

LOGIN_REQUIRED = ("auth.required", "You need to log in to do that.")
SUSPENDED = ("user.suspended", "Your account is suspended.")
MODERATOR_ROLES = frozenset({"moderator", "admin"})


def suspended_message(user: User) -> str:
    """What a suspended user is told on every refused write: until when, and why."""
    until = user.suspended_until
    when = ("with no end date" if until.year == SUSPENDED_INDEFINITELY.year
            else f"until {until.strftime('%Y-%m-%d %H:%M')} UTC")
    reason = f" Reason: {user.suspension_reason}" if user.suspension_reason else ""
    return f"Your account is suspended {when}.{reason}"


def _active_member(user: User | None) -> tuple[str, str] | None:
    if user is None or not user.is_authenticated:
        return LOGIN_REQUIRED
    if user.is_suspended:
        return (SUSPENDED[0], suspended_message(user))
    return None


def _create_thread(user, target) -> tuple[str, str] | None:
    return _active_member(user)


def _reply(user, thread) -> tuple[str, str] | None:
    """Answering a thread or commenting on one of its posts; target is the thread."""
    refused = _active_member(user)
    if refused:
        return refused
    if thread.is_hidden and not user.is_staff:
        return ("thread.hidden", "This thread has been hidden by a moderator.")
    if thread.merged_into_id is not None:
        return ("thread.merged", "This thread was merged into another; reply there.")
    if thread.is_locked and user.role not in ("moderator", "admin"):
        return ("thread.locked", _locked_message(thread, "no new replies"))
    return None


def _locked_message(thread, what: str) -> str:
    reason = f" Reason: {thread.locked_reason}" if thread.locked_reason else ""
    return f"This thread is locked; {what}.{reason}"


def _answer(user, thread) -> tuple[str, str] | None:
    """Answering: as replying, and not on a thread closed as a duplicate (answer the original)."""
    refused = _reply(user, thread)
    if refused:
        return refused
    if thread.duplicate_of_id is not None:
        return ("thread.closed", "This thread is closed as a duplicate; answer the original.")
    return None


def _edit_post(user, post) -> tuple[str, str] | None:
    """Authors edit their own posts; trusted members (reputation) and staff edit anyone's."""
    refused = _active_member(user)
    if refused:
        return refused
    if post.author_id == user.id or user.is_staff:
        return None
    if user.reputation >= current_app.config["REPUTATION_EDIT_OTHERS"]:
        return None
    return ("post.not_author", "Only the author, trusted members and staff can edit this post.")


def _accept(user, thread) -> tuple[str, str] | None:
    refused = _active_member(user)
    if refused:
        return refused
    if thread.author_id == user.id or user.is_staff:
        return None
    return ("accept.not_asker", "Only the person who asked (or staff) can accept an answer.")


def _vote(user, post) -> tuple[str, str] | None:
    refused = _active_member(user)
    if refused:
        return refused
    if post.author_id == user.id:
        return ("vote.own_post", "You cannot vote on your own post.")
    if post.thread.merged_into_id is not None:
        return ("thread.merged", "This thread was merged into another; vote there.")
    if post.thread.is_locked:
        return ("thread.locked", _locked_message(post.thread, "votes are closed"))
    return None


def _downvote(user, post) -> tuple[str, str] | None:
    refused = _vote(user, post)
    if refused:
        return refused
    needed = current_app.config["REPUTATION_DOWNVOTE"]
    if user.reputation < needed and not user.is_staff:
        return ("vote.downvote_reputation", f"Downvoting needs {needed} reputation.")
    return None


def _endorse(user, post) -> tuple[str, str] | None:
    refused = _active_member(user)
    if refused:
        return refused
    if not user.is_staff:
        return ("staff.required", "Only staff can endorse answers.")
    if post.author_id == user.id:
        return ("endorse.own_post", "Staff cannot endorse their own answers.")
    return None


def _manage_users(user, target) -> tuple[str, str] | None:
    refused = _active_member(user)
    if refused:
        return refused
    if user.role != "admin":
        return ("user.not_admin", "Only admins can do that.")
    return None


def _logged_in(user, target) -> tuple[str, str] | None:
    """Reading and tidying one's own things (notifications): suspension does not stop it."""
    if user is None or not user.is_authenticated:
        return LOGIN_REQUIRED
    return None


def _follow(user, thread) -> tuple[str, str] | None:
    refused = _logged_in(user, thread)
    if refused:
        return refused
    if thread.is_hidden and not user.is_staff:
        return ("thread.hidden", "This thread has been hidden by a moderator.")
    return None


def _staff(user, target) -> tuple[str, str] | None:
    refused = _active_member(user)
    if refused:
        return refused
    if not user.is_staff:
        return ("staff.required", "Only staff can do that.")
    return None


def _flag(user, target) -> tuple[str, str] | None:
    """Flagging a post or a comment (target): any active member, never their own."""
    refused = _active_member(user)
    if refused:
        return refused
    if target is not None and target.author_id == user.id:
        return ("flag.own_content", "You cannot flag your own post or comment.")
    return None


def _moderator(user, target) -> tuple[str, str] | None:
    refused = _active_member(user)
    if refused:
        return refused
    if user.role not in MODERATOR_ROLES:
        return ("moderator.required", "Only moderators can do that.")
    return None


def _suspend(user, target) -> tuple[str, str] | None:
    """Suspending a user (target): moderators and admins; only an admin suspends an admin."""
    refused = _moderator(user, target)
    if refused:
        return refused
    if target is not None and target.id == user.id:
        return ("suspend.self", "You cannot suspend yourself.")
    if target is not None and target.role == "admin" and user.role != "admin":
        return ("suspend.admin", "Only an admin can suspend an admin.")
    return None


RULES: dict[str, Rule] = {
    "thread.create": _create_thread,
    "answer.create": _answer,
    "comment.create": _reply,
    "post.edit": _edit_post,
    "thread.accept": _accept,
    "post.endorse": _endorse,
    "post.vote": _vote,
    "post.downvote": _downvote,
    "user.set_role": _manage_users,
    "thread.follow": _follow,
    "notifications.read": _logged_in,
    "account.sessions": _logged_in,
    # Accounts (issue 17): email, password, notification choices and verification links even
    # while suspended; the public profile (bio, website, avatar) only as an active member.
    "account.edit": _logged_in,
    "profile.edit": _create_thread,
    "bridge.view": _staff,
    "bridge.operate": _staff,
    "bridge.manage": _manage_users,
    "bridge.link": _create_thread,
    "bridge.unlink": _logged_in,
    "content.flag": _flag,
    "moderation.read": _staff,
    "moderation.act": _moderator,
    "user.suspend": _suspend,
    "audit.read": _moderator,
    "triage.read": _staff,
    "triage.claim": _staff,
    "webhooks.manage": _manage_users,
    "events.read": _manage_users,
}


def refusal(user: User | None, action: str, target: Any = None) -> tuple[str, str] | None:
    return RULES[action](user, target)


def can(user: User | None, action: str, target: Any = None) -> bool:
    """True when `user` may perform `action` on `target` (templates use this to show buttons)."""
    return refusal(user, action, target) is None


def require(user: User | None, action: str, target: Any = None) -> None:
    """Raise Unauthorized for anonymous users, Forbidden with the rule's code for refusals."""
    refused = refusal(user, action, target)
    if refused == LOGIN_REQUIRED:
        raise Unauthorized(*refused)
    if refused:
        raise Forbidden(*refused)
