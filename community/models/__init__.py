"""Every model class, so callers write `from community.models import Thread, Post`."""

from community.models.reputation import BadgeAward, ReputationEvent
from community.models.threads import Comment, Post, Revision, Tag, Thread, thread_tags
from community.models.users import ApiToken, User
from community.models.votes import Vote

__all__ = ["ApiToken", "BadgeAward", "Comment", "Post", "ReputationEvent", "Revision", "Tag",
           "Thread", "User", "Vote", "thread_tags"]
