"""The staff webhooks pages (admins): subscriptions, their delivery logs and actions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from community.security import current_actor
from community.services import webhooks
from community.services.errors import Invalid
from community.views.forms import checked

bp = Blueprint("webhooks", __name__)


@bp.get("/staff/webhooks")
@login_required
def index():
    return render_template("webhooks/index.html",
                           subscriptions=webhooks.subscriptions(current_actor()),
                           types=webhooks.PUBLIC_TYPES, error=None, form={})


@bp.post("/staff/webhooks")
@login_required
def create():
    actor = current_actor()
    webhooks.require_manager(actor)
    checked()
    wanted = request.form.getlist("events")
    try:
        item = webhooks.create(actor, request.form.get("url", ""), wanted,
                               request.form.get("description", ""))
    except Invalid as exc:
        return render_template("webhooks/index.html", subscriptions=webhooks.subscriptions(actor),
                               types=webhooks.PUBLIC_TYPES, error=exc.message,
                               form=request.form), 422
    return render_template("webhooks/show.html", subscription=item, secret=item.secret,
                           deliveries=[]), 201


@bp.get("/staff/webhooks/<int:subscription_id>")
@login_required
def show(subscription_id: int):
    actor = current_actor()
    item = webhooks.get(actor, subscription_id)
    return render_template("webhooks/show.html", subscription=item, secret=None,
                           deliveries=webhooks.deliveries(actor, item, limit=100))


@bp.post("/staff/webhooks/<int:subscription_id>/<action>")
@login_required
def act(subscription_id: int, action: str):
    """enable, disable, rotate, ping, delete, or redeliver (with a delivery_id)."""
    actor = current_actor()
    item = webhooks.get(actor, subscription_id)
    checked()
    if action in ("enable", "disable"):
        webhooks.change(actor, item, {"enabled": action == "enable"})
        flash(f"Subscription {action}d.")
    elif action == "rotate":
        webhooks.rotate(actor, item)
        return render_template("webhooks/show.html", subscription=item, secret=item.secret,
                               deliveries=webhooks.deliveries(actor, item, limit=100))
    elif action == "ping":
        webhooks.ping(actor, item)
        flash("A test event is on its way.")
    elif action == "redeliver":
        raw = request.form.get("delivery_id", "")
        webhooks.redeliver(actor, item, int(raw) if raw.isascii() and raw.isdigit() else -1)
        flash("The event will be sent again.")
    elif action == "delete":
        webhooks.delete(actor, item)
        flash("Subscription removed.")
        return redirect(url_for("webhooks.index"))
    else:
        raise Invalid("action", "action.unknown", "Unknown action.")
    return redirect(url_for("webhooks.show", subscription_id=subscription_id))
