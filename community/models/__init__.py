"""Every model class, so callers write `from community.models import Thread, Post`."""

from community.models.threads import Comment, Post, Revision, Tag, Thread, thread_tags
from community.models.users import ApiToken, User

__all__ = ["ApiToken", "Comment", "Post", "Revision", "Tag", "Thread", "User", "thread_tags"]
