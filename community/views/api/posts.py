"""API: edit a post, comment on it, read its revisions, endorse it."""

from __future__ import annotations

from community.security import current_actor
from community.services import answers, threads, votes
from community.views.api import schemas
from community.views.api.common import (bp, int_field, json_body, post_limit, require_actor,
                                        tags_field, text_field)


@bp.get("/posts/<int:post_id>")
def get_post(post_id: int):
    actor = current_actor()
    return schemas.post(threads.get_post(actor, post_id), actor)


@bp.patch("/posts/<int:post_id>")
def edit_post(post_id: int):
    actor = require_actor()
    post = threads.get_post(actor, post_id)
    data = json_body()
    threads.edit_post(actor, post, body=text_field(data, "body", required=False),
                      title=text_field(data, "title", required=False),
                      tags=tags_field(data, required=False),
                      summary=text_field(data, "summary", required=False) or "")
    return schemas.post(post)


@bp.get("/posts/<int:post_id>/revisions")
def revisions(post_id: int):
    post = threads.get_post(current_actor(), post_id)
    return {"items": [schemas.revision(r) for r in reversed(post.revisions)], "next_cursor": None}


@bp.post("/posts/<int:post_id>/comments")
@post_limit
def create_comment(post_id: int):
    actor = require_actor()
    post = threads.get_post(actor, post_id)
    item = threads.comment(actor, post, text_field(json_body(), "body"))
    return schemas.comment(item), 201


@bp.post("/posts/<int:post_id>/endorse")
def endorse(post_id: int):
    actor = require_actor()
    return schemas.post(answers.endorse(actor, threads.get_post(actor, post_id)))


@bp.delete("/posts/<int:post_id>/endorse")
def unendorse(post_id: int):
    actor = require_actor()
    return schemas.post(answers.unendorse(actor, threads.get_post(actor, post_id)))


@bp.put("/posts/<int:post_id>/vote")
@post_limit
def vote(post_id: int):
    actor = require_actor()
    post = threads.get_post(actor, post_id)
    result = votes.cast_vote(actor, post, int_field(json_body(), "value"))
    return schemas.vote(result, post)
