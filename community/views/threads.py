"""Thread pages: lists, the thread page, asking, answering, commenting, editing, accepting."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import login_required

from community.extensions import limiter
from community.security import current_actor, post_rate_limit, rate_limit_key
from community.services import answers, permissions, search, threads, votes
from community.services.errors import Invalid
from community.views.forms import (AcceptForm, ActionForm, AnswerForm, AskForm, CommentForm,
                                   EditForm, VoteForm, field_error)
from community.views.page_cache import lists_scope, thread_scope, visitor_page
from community.services.links import thread_url

bp = Blueprint("threads", __name__)

post_limit = limiter.limit(post_rate_limit, methods=["POST"], key_func=rate_limit_key)

LISTS = {
    # endpoint: (heading, status filter, sort)
    "home": ("Active questions", None, "active"),
    "newest": ("Newest questions", None, "newest"),
    "unanswered": ("Unanswered questions", "unanswered", "newest"),
    "solved": ("Solved questions", "solved", "active"),
}


def _list_page(endpoint: str, **url_args):
    heading, status, sort = LISTS[endpoint]
    page = threads.list_threads(current_actor(), sort=sort, status=status, tag=url_args.get("tag"),
                                cursor=request.args.get("cursor") or None,
                                limit=current_app.config["PAGE_SIZE"])
    next_url = (url_for(f"threads.{endpoint}", cursor=page.next_cursor, **url_args)
                if page.next_cursor else None)
    return render_template("threads/list.html", heading=heading, page=page, next_url=next_url,
                           current=endpoint)


@bp.get("/")
@visitor_page(lists_scope)
def home():
    return _list_page("home")


@bp.get("/newest")
@visitor_page(lists_scope)
def newest():
    return _list_page("newest")


@bp.get("/unanswered")
@visitor_page(lists_scope)
def unanswered():
    return _list_page("unanswered")


@bp.get("/solved")
@visitor_page(lists_scope)
def solved():
    return _list_page("solved")


@bp.get("/tags/<tag>")
@visitor_page(lists_scope)
def tag(tag: str):
    page = threads.list_threads(current_actor(), tag=tag, cursor=request.args.get("cursor") or None,
                                limit=current_app.config["PAGE_SIZE"])
    next_url = url_for("threads.tag", tag=tag, cursor=page.next_cursor) if page.next_cursor else None
    return render_template("threads/list.html", heading=f"Questions tagged {tag}", page=page,
                           next_url=next_url, current="tag")


@bp.get("/threads/<int:thread_id>")
@bp.get("/threads/<int:thread_id>/<slug>")
@visitor_page(thread_scope)
def show(thread_id: int, slug: str | None = None):
    actor = current_actor()
    thread = threads.get_thread(actor, thread_id)
    if thread.merged_into_id is not None:  # merged: its answers live there now
        return redirect(url_for("threads.show", thread_id=thread.merged_into_id), 301)
    return _thread_page(thread, AnswerForm() if actor else None)


def _thread_page(thread, answer_form: AnswerForm | None, status: int = 200):
    """The thread page; visitors get no forms, so no session (and a cacheable page)."""
    actor = current_actor()
    member = actor is not None
    return render_template("threads/show.html", thread=thread, answer_form=answer_form,
                           comment_form=CommentForm() if member else None,
                           action_form=ActionForm() if member else None,
                           can=permissions.can, actor=actor, related=search.related(thread),
                           my_votes=votes.votes_by(actor, thread.posts)), status


@bp.route("/ask", methods=["GET", "POST"])
@login_required
@post_limit
def ask():
    form = AskForm()
    if form.validate_on_submit():
        try:
            thread = threads.ask(current_actor(), form.title.data, form.body.data, form.tags.data)
        except Invalid as exc:
            field_error(form, exc)
        else:
            return redirect(thread_url(thread))
    return render_template("threads/ask.html", form=form), 422 if form.errors else 200


@bp.post("/threads/<int:thread_id>/answers")
@login_required
@post_limit
def answer(thread_id: int):
    thread = threads.get_thread(current_actor(), thread_id)
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            post = threads.answer(current_actor(), thread, form.body.data)
        except Invalid as exc:
            field_error(form, exc)
        else:
            return redirect(thread_url(thread, anchor=f"post-{post.id}"))
    return _thread_page(thread, form, 422)


@bp.post("/posts/<int:post_id>/comments")
@login_required
@post_limit
def comment(post_id: int):
    post = threads.get_post(current_actor(), post_id)
    form = CommentForm()
    if not form.validate_on_submit():
        raise Invalid("body", "body.empty", "Write a comment first.")
    item = threads.comment(current_actor(), post, form.body.data)
    return redirect(thread_url(post.thread, anchor=f"comment-{item.id}"))


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int):
    actor = current_actor()
    post = threads.get_post(actor, post_id)
    permissions.require(actor, "post.edit", post)
    thread = post.thread
    form = EditForm(data={"title": thread.title, "tags": " ".join(thread.tag_names),
                          "body": post.body_source})
    if form.validate_on_submit():
        try:
            threads.edit_post(actor, post, body=form.body.data,
                              title=form.title.data if post.is_question else None,
                              tags=form.tags.data if post.is_question else None,
                              summary=form.summary.data or "")
        except Invalid as exc:
            field_error(form, exc)
        else:
            return redirect(thread_url(thread, anchor=f"post-{post.id}"))
    return render_template("threads/edit.html", form=form, post=post), 422 if form.errors else 200


@bp.get("/posts/<int:post_id>/revisions")
def revisions(post_id: int):
    post = threads.get_post(current_actor(), post_id)
    return render_template("threads/revisions.html", post=post)


@bp.post("/threads/<int:thread_id>/accept")
@login_required
def accept(thread_id: int):
    actor = current_actor()
    thread = threads.get_thread(actor, thread_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        abort(400)
    post = threads.get_post(actor, form.post_id.data)
    answers.accept(actor, thread, post)
    return redirect(thread_url(thread, anchor=f"post-{post.id}"))


@bp.post("/threads/<int:thread_id>/unaccept")
@login_required
def unaccept(thread_id: int):
    thread = threads.get_thread(current_actor(), thread_id)
    answers.unaccept(current_actor(), thread)
    return redirect(thread_url(thread))


@bp.post("/posts/<int:post_id>/endorse")
@login_required
def endorse(post_id: int):
    post = threads.get_post(current_actor(), post_id)
    answers.endorse(current_actor(), post)
    return redirect(thread_url(post.thread, anchor=f"post-{post.id}"))


@bp.post("/posts/<int:post_id>/unendorse")
@login_required
def unendorse(post_id: int):
    post = threads.get_post(current_actor(), post_id)
    answers.unendorse(current_actor(), post)
    return redirect(thread_url(post.thread, anchor=f"post-{post.id}"))


@bp.post("/posts/<int:post_id>/vote")
@login_required
@post_limit
def vote(post_id: int):
    actor = current_actor()
    post = threads.get_post(actor, post_id)
    form = VoteForm()
    if not form.validate_on_submit():
        raise Invalid("value", "vote.invalid", "A vote is 1, -1 or 0.")
    votes.cast_vote(actor, post, int(form.value.data))
    return redirect(thread_url(post.thread, anchor=f"post-{post.id}"))
