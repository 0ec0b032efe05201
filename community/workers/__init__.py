"""What happens after a commit: the one list of who hears which event, and the workers that do
the work off the request.

Services publish events (services/events.py); they reach the subscribers below only once the
transaction commits (or, for `in_transaction`, just before, inside it). Read a row to see what
follows an event:

| subscriber | events | what it does |
| --- | --- | --- |
| bridge replies (in the transaction) | answer (un)accepted/(un)endorsed, post.voted, post hidden/restored, thread closed/reopened/merged | owe a bridged customer the thread's best answer (a hidden one is never sent) |
| bridge intake (in the transaction) | post.approved | owe the acknowledgement a held complaint did not get |
| owed notifications (in the transaction) | those in notifications.TRIGGERS (thread/answer/comment created, accepted, endorsed, ...) | keep the event as a row until its notifications are written (one INSERT per commit) |
| webhook events (in the transaction) | services/webhooks.PUBLIC_TYPES (thread/answer/comment created, accepted, flagged, ...) | keep the event in the log (the feed) and owe a delivery to each subscription that wants it |
| webhook sender (worker) | webhooks.queued | send owed deliveries now rather than at the next round (services/webhook_delivery.py) |
| triage queue (in the transaction) | triage.EVENTS (threads created, answered, followed up, flagged, closed...) | keep each thread's place in the staff triage queue; publish `triage.changed` |
| search indexer (worker) | every event about a thread | re-index the thread; at a server's first request, reconcile the index with the database |
| bridge intake (worker, or inline) | inbound.stored | turn stored channel messages into threads |
| bridge sender (worker) | outbox.queued | send owed replies now rather than at the next round |
| page cache | every event about a thread | visitors get a fresh thread page and lists |
| notifications + mailer (workers) | notification.owed; notification.created, identity.linked, account.reset_requested, account.verification_requested | write the owed notifications (and, now and then, rows a dead process left), then email them; email reset and verification links (workers/account_mail.py) |
| live updates (worker) | what a thread page or the bell shows | emit Socket.IO events to the rooms that may see them |

What a worker holds is in memory and dies with its process. The rows in the transaction are
what survives: owed replies and owed notifications are taken up again by any process. The
search index is not owed row by row; it is reconciled with the database instead.
"""

from __future__ import annotations

from flask import Flask, current_app

from community.services import events
from community.services import notifications as notification_service
from community.services import webhooks as webhook_service
from community.services.bridge import acknowledge_approved, replies
from community.services import triage
from community.views import page_cache
from community.workers import bridge, live_updates, notifications, search_indexer, webhooks
from community.workers.worker import Worker, workers_of


def init_app(app: Flask) -> None:
    workers: dict[str, Worker] = workers_of(app)

    def subscribe(subscriber: events.Subscriber, names, **options) -> None:
        events.subscribe(app, subscriber, names=names, **options)

    subscribe(replies.settle_answer, replies.SETTLING_EVENTS, in_transaction=True)
    subscribe(acknowledge_approved, {"post.approved"}, in_transaction=True)
    subscribe(notification_service.owe, notification_service.TRIGGERS, in_transaction=True,
              batch=True)
    subscribe(triage.on_events, triage.EVENTS, in_transaction=True, batch=True)
    subscribe(webhook_service.owe, webhook_service.PUBLIC_TYPES, in_transaction=True, batch=True)
    subscribe(search_indexer.subscriber(app, workers), events.THREAD_EVENTS)
    subscribe(bridge.intake_subscriber(app, workers), {"inbound.stored"})
    subscribe(bridge.sender_subscriber(app, workers), {"outbox.queued"})
    subscribe(webhooks.subscriber(app, workers), {"webhooks.queued"})
    subscribe(page_cache.invalidate, events.THREAD_EVENTS)
    subscribe(notifications.subscriber(app, workers), notifications.EVENTS)
    subscribe(live_updates.subscriber(app, workers), live_updates.BUILDERS)


def flush(timeout: float = 30.0) -> bool:
    """Wait until every worker of this app has handled what was queued (tests, the CLI)."""
    return all([worker.flush(timeout) for worker in workers_of(current_app).values()])
