"""The staff triage queue: which threads need a staff reply most (docs/TRIAGE.md).

`state` keeps each thread's place in the queue as its posts change, `scoring` explains the
score, `queue` lists and pages it, `claims` says who is on which thread.
"""

from community.services.triage.claims import claim, holder, release
from community.services.triage.queue import Entry, Suggestion, queue
from community.services.triage.state import EVENTS, on_events, rebuild, refresh

__all__ = ["EVENTS", "Entry", "Suggestion", "claim", "holder", "on_events", "queue", "rebuild",
           "refresh", "release"]
