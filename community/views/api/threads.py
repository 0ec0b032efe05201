"""API: list, create, read and edit threads; answer them; accept an answer."""

from __future__ import annotations

from flask import redirect, request, url_for

from community.security import current_actor
from community.services import answers, threads
from community.views.api import schemas
from community.views.api.common import (bp, id_arg, int_field, json_body, limit_arg, list_response,
                                        post_limit, require_actor, tags_field, text_field)


@bp.get("/threads")
def list_threads():
    # An author id no user can have gives an empty list, as an unknown tag does.
    page = threads.list_threads(
        current_actor(), sort=request.args.get("sort", "active"),
        status=request.args.get("status") or None, tag=request.args.get("tag") or None,
        author_id=id_arg("author"),
        cursor=request.args.get("cursor") or None, limit=limit_arg())
    return list_response(page, schemas.thread)


@bp.post("/threads")
@post_limit
def create_thread():
    actor = require_actor()
    data = json_body()
    thread = threads.ask(actor, text_field(data, "title"), text_field(data, "body"),
                         tags_field(data), source_kind="api")
    return schemas.thread_detail(thread), 201


@bp.get("/threads/<int:thread_id>")
def get_thread(thread_id: int):
    actor = current_actor()
    thread = threads.get_thread(actor, thread_id)
    if thread.merged_into_id is not None:  # its answers live there now
        return redirect(url_for("api.get_thread", thread_id=thread.merged_into_id), 301)
    return schemas.thread_detail(thread, actor)


@bp.patch("/threads/<int:thread_id>")
def edit_thread(thread_id: int):
    actor = require_actor()
    thread = threads.get_thread(actor, thread_id)
    data = json_body()
    threads.edit_post(actor, thread.question, body=text_field(data, "body", required=False),
                      title=text_field(data, "title", required=False),
                      tags=tags_field(data, required=False),
                      summary=text_field(data, "summary", required=False) or "")
    return schemas.thread_detail(threads.get_thread(actor, thread_id))


@bp.post("/threads/<int:thread_id>/answers")
@post_limit
def create_answer(thread_id: int):
    actor = require_actor()
    thread = threads.get_thread(actor, thread_id)
    post = threads.answer(actor, thread, text_field(json_body(), "body"))
    return schemas.post(post), 201


@bp.post("/threads/<int:thread_id>/accept")
def accept(thread_id: int):
    actor = require_actor()
    thread = threads.get_thread(actor, thread_id)
    post = threads.get_post(actor, int_field(json_body(), "post_id"))
    answers.accept(actor, thread, post)
    return schemas.thread_detail(threads.get_thread(actor, thread_id))


@bp.delete("/threads/<int:thread_id>/accept")
def unaccept(thread_id: int):
    actor = require_actor()
    answers.unaccept(actor, threads.get_thread(actor, thread_id))
    return schemas.thread_detail(threads.get_thread(actor, thread_id))
