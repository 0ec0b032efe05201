"""Every model class, so callers write `from community.models import Thread, Post`."""

from community.models.bridge import (Channel, ExternalIdentity, InboundMessage, LinkCode,
                                     OutboundMessage)
from community.models.moderation import AuditEntry, Flag
from community.models.notifications import Notification, OwedNotification, Subscription
from community.models.reputation import BadgeAward, ReputationEvent
from community.models.threads import Comment, Post, Revision, Tag, Thread, thread_tags
from community.models.users import ApiToken, LoginSession, User
from community.models.votes import Vote

__all__ = ["ApiToken", "AuditEntry", "BadgeAward", "Channel", "Comment", "ExternalIdentity",
           "Flag", "InboundMessage", "LinkCode", "LoginSession", "Notification", "OutboundMessage",
           "OwedNotification", "Post", "ReputationEvent", "Revision", "Subscription", "Tag",
           "Thread", "User", "Vote", "thread_tags"]
