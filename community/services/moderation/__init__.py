"""Moderation: what members and staff do about bad content and bad actors.

One module per job: `flags` (members flag posts and comments; moderators resolve them),
`queue` (the flag queue), `hiding` (hide and restore posts, comments and threads), `threads` (lock, close as duplicate,
reopen, merge), `suspensions` (users and bridged identities), `spam` (the checker and held
posts) and `limits` (what new accounts may post). Every action writes an audit entry
(services/audit.py) in its own transaction; permissions are rows in services/permissions.py.
"""
