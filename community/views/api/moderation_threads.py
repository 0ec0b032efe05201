"""API: moderators lock, unlock, close as a duplicate, reopen and merge threads."""

from __future__ import annotations

from community.services import threads
from community.services.moderation import threads as moderation
from community.views.api import schemas
from community.views.api.common import bp, int_field, json_body, require_actor, text_field


def _shown(actor, thread) -> dict:
    return schemas.thread_detail(threads.get_thread(actor, thread.id))


@bp.post("/threads/<int:thread_id>/lock")
def lock_thread(thread_id: int):
    actor = require_actor()
    reason = text_field(json_body(), "reason", required=False)
    return _shown(actor, moderation.lock(actor, thread_id, reason))


@bp.post("/threads/<int:thread_id>/unlock")
def unlock_thread(thread_id: int):
    actor = require_actor()
    return _shown(actor, moderation.unlock(actor, thread_id))


@bp.post("/threads/<int:thread_id>/duplicate")
def close_as_duplicate(thread_id: int):
    actor = require_actor()
    original_id = int_field(json_body(), "of")
    return _shown(actor, moderation.close_as_duplicate(actor, thread_id, original_id))


@bp.post("/threads/<int:thread_id>/reopen")
def reopen_thread(thread_id: int):
    actor = require_actor()
    return _shown(actor, moderation.reopen(actor, thread_id))


@bp.post("/threads/<int:thread_id>/merge")
def merge_thread(thread_id: int):
    actor = require_actor()
    target_id = int_field(json_body(), "into")
    return _shown(actor, moderation.merge(actor, thread_id, target_id))
