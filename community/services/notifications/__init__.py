"""Notifications, one module per job:

- `following`: following threads, by hand and automatically
- `triggers`: who is told what after a change (`write`, `record`)
- `owed`: the notifications committed changes owe, kept as rows until the worker writes them
- `reading`: a member's notifications, the unread count, marking them read
- `email`: email preferences, unsubscribe tokens, claiming notifications for an email
- `words`: how a notification reads and where it leads

The names below are the package's interface for views, the API, the workers and the CLI.
"""

from community.services.notifications.email import (claim_digests, claim_for_email,
                                                    email_available, release_email,
                                                    set_email_mode, unsubscribe,
                                                    unsubscribe_token)
from community.services.notifications.following import follow, is_following, unfollow
from community.services.notifications.owed import count_owed, deliver_owed, owe, recover_owed
from community.services.notifications.reading import (get, get_own, list_for, mark_all_read,
                                                      mark_read, unread_count)
from community.services.notifications.triggers import TRIGGERS, record
from community.services.notifications.words import describe, target_url

__all__ = [
    "TRIGGERS", "claim_digests", "claim_for_email", "count_owed", "deliver_owed", "describe",
    "email_available", "follow", "get", "get_own", "is_following", "list_for", "mark_all_read",
    "mark_read", "owe", "record", "recover_owed", "release_email",
    "set_email_mode", "target_url", "unfollow", "unread_count", "unsubscribe",
    "unsubscribe_token",
]
