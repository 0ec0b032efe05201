"""The social bridge over HTTP: channel webhooks, the staff bridge page, linking identities."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from community.extensions import csrf
from community.models.bridge import CHANNEL_KINDS, OUTBOX_STATES
from community.security import current_actor
from community.services import bridge
from community.services.errors import Invalid
from community.views.forms import ActionForm, ChannelChangeForm, ChannelForm, field_error

bp = Blueprint("bridge", __name__)


# ---- webhooks (the channels call these) -------------------------------------------------------

@bp.get("/bridge/<slug>/webhook")
def handshake(slug: str):
    """Meta's subscription check: echo hub.challenge when hub.verify_token matches."""
    return bridge.handshake(slug, request.args), 200, {"Content-Type": "text/plain"}


@bp.post("/bridge/<slug>/webhook")
@csrf.exempt
def webhook(slug: str):
    receipt = bridge.receive(slug, request.get_data(cache=False), request.headers, request.args)
    return jsonify(received=receipt.received, stored=receipt.stored)


# ---- staff --------------------------------------------------------------------------------------

@bp.get("/staff/bridge")
@login_required
def index():
    actor = current_actor()
    state = request.args.get("state") or None
    replies = bridge.list_replies(actor, state, cursor=request.args.get("cursor") or None)
    more = url_for("bridge.index", state=state, cursor=replies.next_cursor) \
        if replies.next_cursor else None
    return render_template("bridge/index.html", inbound=bridge.recent_inbound(actor).items,
                           outbox=replies.items, more_url=more, channels=bridge.channels(actor),
                           states=OUTBOX_STATES, state=state, form=ActionForm())


@bp.post("/staff/bridge/outbox/<int:reply_id>/retry")
@login_required
def retry(reply_id: int):
    actor = current_actor()
    if ActionForm().validate_on_submit():
        bridge.retry_reply(actor, bridge.get_reply(actor, reply_id))
        flash("Queued to send again.")
    return redirect(url_for("bridge.index"))


@bp.post("/staff/bridge/outbox/<int:reply_id>/cancel")
@login_required
def cancel(reply_id: int):
    actor = current_actor()
    if ActionForm().validate_on_submit():
        bridge.cancel_reply(actor, bridge.get_reply(actor, reply_id))
        flash("Cancelled; it will not be sent.")
    return redirect(url_for("bridge.index"))


@bp.post("/staff/bridge/inbound/<int:inbound_id>/retry")
@login_required
def retry_inbound(inbound_id: int):
    actor = current_actor()
    if ActionForm().validate_on_submit():
        outcome = bridge.retry_intake(actor, bridge.get_inbound(actor, inbound_id))
        flash(f"Taken in again: {outcome}.")
    return redirect(url_for("bridge.index"))


@bp.route("/staff/bridge/channels", methods=["GET", "POST"])
@login_required
def channels():
    actor = current_actor()
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            settings = bridge.parse_settings(form.settings.data or "")
            channel = bridge.add_channel(actor, form.kind.data, form.slug.data, settings,
                                         name=form.name.data or "")
        except Invalid as exc:
            field_error(form, exc)
        else:
            flash(f"Channel {channel.slug} added. Point its webhook at "
                  f"{bridge.webhook_link(channel)}.")
            return redirect(url_for("bridge.channels"))
    listed = bridge.channels(actor)
    return render_template("bridge/channels.html", form=form, channels=listed,
                           masked={c.id: bridge.masked_settings(c) for c in listed},
                           webhooks={c.id: bridge.webhook_link(c) for c in listed},
                           kinds={kind: bridge.setting_specs(kind) for kind in CHANNEL_KINDS})


@bp.route("/staff/bridge/channels/<slug>", methods=["GET", "POST"])
@login_required
def channel(slug: str):
    actor = current_actor()
    found = bridge.get_channel(actor, slug)
    form = ChannelChangeForm(enabled=found.is_enabled)
    if form.validate_on_submit():
        try:
            settings = bridge.parse_settings(form.settings.data or "")
            changed = bridge.change_channel(actor, slug, settings=settings,
                                            enabled=form.enabled.data)
        except Invalid as exc:
            field_error(form, exc)
        else:
            flash(f"Channel {changed.slug} changed; it is "
                  f"{'on' if changed.is_enabled else 'off'}.")
            return redirect(url_for("bridge.channels"))
    return render_template("bridge/channel.html", channel=found, form=form,
                           masked=bridge.masked_settings(found),
                           specs=bridge.setting_specs(found.kind))


# ---- members: prove a channel identity is theirs ----------------------------------------------

@bp.route("/account/linked", methods=["GET", "POST"])
@login_required
def linked():
    actor = current_actor()
    form = ActionForm()
    code = None
    if form.validate_on_submit():
        code = bridge.new_link_code(actor)
    return render_template("bridge/linked.html", form=form, code=code,
                           identities=bridge.linked_identities(actor),
                           lifetime=int(bridge.LINK_CODE_LIFETIME.total_seconds() // 60))


@bp.post("/account/linked/<int:identity_id>/unlink")
@login_required
def unlink(identity_id: int):
    if ActionForm().validate_on_submit():
        identity = bridge.unlink(current_actor(), identity_id)
        flash(f"Unlinked your {identity.channel.name} account.")
    return redirect(url_for("bridge.linked"))


@bp.route("/account/unlink/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token from the email is the proof, as for one-click unsubscribe
def unlink_from_email(token: str):
    if request.method == "POST":
        identity = bridge.unlink_by_token(token)
        return render_template("bridge/unlink.html", identity=identity, done=True)
    # A GET only asks: link scanners in mail systems open links without anyone clicking.
    return render_template("bridge/unlink.html", token=token, done=False)
