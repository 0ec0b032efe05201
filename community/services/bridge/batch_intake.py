"""Intake in batches: a burst of new customers' complaints taken in together, one transaction
and one flush per batch; everything else goes through `intake.intake` one at a time, in order.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update

from community.bridge import MESSAGE, Author
from community.extensions import db
from community.models import ExternalIdentity, InboundMessage
from community.models.base import insert_rows, utcnow
from community.services import accounts, events, reputation, threads
from community.services.bridge.intake import (body_of, identity_fields, intake, shadow_draft,
                                              title_of)
from community.services.bridge.linking import LINK_RE
from community.services.bridge.replies import acknowledgement, owe
from community.services.moderation import limits, spam
from community.services.retry import retry_on_conflict
from community.services.text import to_html

INTAKE_BATCH = 100


def intake_many(inbound_ids: list[int]) -> None:
    """Take in stored messages. A burst's complaints from customers new to the channel (most of
    it) are taken in together, one transaction and one flush per batch; every other message,
    and every message of a batch that failed, goes through `intake` one at a time, in order."""
    for start in range(0, len(inbound_ids), INTAKE_BATCH):
        chunk = inbound_ids[start:start + INTAKE_BATCH]
        try:
            rest = _intake_new_complaints(chunk)
        except Exception as exc:  # a race or a bad message: one at a time records which
            db.session.rollback()
            current_app.logger.warning("bridge batch intake fell back to one at a time: %r", exc)
            rest = chunk
        for inbound_id in rest:
            intake(inbound_id)


@retry_on_conflict
def _intake_new_complaints(inbound_ids: list[int]) -> list[int]:
    """Start a thread for each new customer's complaint among `inbound_ids`, in one transaction;
    the ids left for `intake`. Commits.

    What needs no write (finding the new complaints, titles, rendering) is done before the
    claim, which on SQLite takes the one write lock the webhooks also wait for. A message
    claimed meanwhile by another process sends the whole batch one at a time; an identity or
    user name created meanwhile fails the flush, with the same result.
    """
    rows = db.session.scalars(select(InboundMessage).where(
        InboundMessage.id.in_(inbound_ids), InboundMessage.outcome == "")
        .order_by(InboundMessage.id)).all()
    # A complaint the spam checker would hold goes through `intake`, which holds it.
    fresh = [row for row in _new_complaints(rows) if not _would_hold(row)]
    if not fresh:
        db.session.rollback()
        return inbound_ids
    authors = [Author(**row.author) for row in fresh]
    shadows = [shadow_draft(row.channel, author) for row, author in zip(fresh, authors)]
    texts = [(title_of(row, author.display_name or author.handle), body_of(row))
             for row, author in zip(fresh, authors)]
    rendered = [to_html(body) for _, body in texts]
    claimed = db.session.scalars(
        update(InboundMessage)
        .where(InboundMessage.id.in_([row.id for row in fresh]), InboundMessage.outcome == "")
        .values(error="").returning(InboundMessage.id)
        .execution_options(synchronize_session=False)).all()
    if len(claimed) != len(fresh):
        db.session.rollback()
        return inbound_ids
    # Every row below goes in through Core, a statement per table for the batch (see
    # models.base.insert_rows); the loaded messages are only read.
    user_ids = accounts.shadow_users(shadows)
    identity_ids = insert_rows(db.session.connection(), ExternalIdentity.__table__, [
        identity_fields(row, author, user_id)
        for row, author, user_id in zip(fresh, authors, user_ids)])
    created = threads.create_threads([
        threads.ThreadDraft(user_id, title, body, [row.channel.kind],
                            source_kind=row.channel.kind, source_url=row.url, body_html=html)
        for row, user_id, (title, body), html in zip(fresh, user_ids, texts, rendered)])
    reputation.award_for_questions([(user_id, thread.question_id)
                                    for user_id, thread in zip(user_ids, created)])
    owe(*(acknowledgement(row, author.display_name or author.handle, thread)
           for row, author, thread in zip(fresh, authors, created)))
    table = InboundMessage.__table__
    db.session.connection().execute(
        update(table).where(table.c.id == bindparam("row_id")).values(
            identity_id=bindparam("new_identity_id"), thread_id=bindparam("new_thread_id"),
            post_id=bindparam("new_post_id"), outcome="thread", error=""),
        [{"row_id": row.id, "new_identity_id": identity_id, "new_thread_id": thread.id,
          "new_post_id": thread.question_id}
         for row, identity_id, thread in zip(fresh, identity_ids, created)])
    for row, thread in zip(fresh, created):
        events.publish("inbound.received", inbound_id=row.id, thread_id=thread.id,
                       channel=row.channel.slug, outcome="thread")
    done = {row.id for row in fresh}  # read before the commit expires the rows
    db.session.commit()
    return [inbound_id for inbound_id in inbound_ids if inbound_id not in done]


def _would_hold(row: InboundMessage) -> bool:
    """A new customer's shadow account is as new as accounts get."""
    author = Author(**row.author)
    return spam.screen(None, body_of(row), kind="bridge", new_author=limits.new_accounts(),
                       title=title_of(row, author.display_name or author.handle)) is not None


def _new_complaints(rows: list[InboundMessage]) -> list[InboundMessage]:
    """The messages that start a thread by a customer the channel has not seen: a message with a
    body, replying to nothing, in no conversation that has a thread, sharing neither author nor
    conversation with an earlier message of the batch (those wait, to keep their order)."""
    seen: set[tuple[int, str, str]] = set()
    candidates = []
    for row in rows:
        who = (row.author or {}).get("external_id") or ""
        marks = {(row.channel_id, "author", who),
                 (row.channel_id, "conversation", row.conversation or f"#{row.id}")}
        if (row.kind == MESSAGE and who and not row.author.get("is_brand") and not row.reply_to
                and not marks & seen and not LINK_RE.match(row.text) and body_of(row)):
            candidates.append(row)
        seen |= marks
    if not candidates:
        return []
    known = set(db.session.execute(
        select(ExternalIdentity.channel_id, ExternalIdentity.external_id)
        .where(ExternalIdentity.external_id.in_({row.author["external_id"]
                                                 for row in candidates}))))
    threaded = set(db.session.execute(
        select(InboundMessage.channel_id, InboundMessage.conversation)
        .where(InboundMessage.conversation.in_({row.conversation for row in candidates}),
               InboundMessage.thread_id.is_not(None))))
    return [row for row in candidates
            if (row.channel_id, row.author["external_id"]) not in known
            and (row.channel_id, row.conversation) not in threaded]


def intake_leftovers(older_than: timedelta = timedelta(minutes=1)) -> int:
    """Take in messages stored but never taken in (the process stopped in between)."""
    ids = db.session.scalars(select(InboundMessage.id).where(
        InboundMessage.outcome == "", InboundMessage.received_at < utcnow() - older_than)
        .order_by(InboundMessage.id).limit(500)).all()
    intake_many(ids)
    return len(ids)
