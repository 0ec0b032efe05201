"""Every model class, so callers write `from community.models import Thread, Post`."""

from community.models.avatars import Avatar
from community.models.bridge import (Channel, ExternalIdentity, InboundMessage, LinkCode,
                                     OutboundMessage)
from community.models.moderation import AuditEntry, Flag
from community.models.notifications import Notification, OwedNotification, Subscription
from community.models.reputation import BadgeAward, ReputationEvent
from community.models.threads import Comment, Post, Revision, Tag, Thread, thread_tags
from community.models.triage import TriageClaim, TriageItem
from community.models.users import ApiToken, LoginSession, User
from community.models.votes import Vote
from community.models.webhooks import WebhookDelivery, WebhookEvent, WebhookSubscription

__all__ = ["ApiToken", "AuditEntry", "Avatar", "BadgeAward", "Channel", "Comment", "ExternalIdentity",
           "Flag", "InboundMessage", "LinkCode", "LoginSession", "Notification", "OutboundMessage",
           "OwedNotification", "Post", "ReputationEvent", "Revision", "Subscription", "Tag",
           "Thread", "TriageClaim", "TriageItem", "User", "Vote", "WebhookDelivery", "WebhookEvent",
           "WebhookSubscription", "thread_tags"]
