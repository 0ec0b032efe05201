"""API: the social bridge for staff (channels, inbound messages, the outbox) and for members
(link codes, linked identities). The same rules as the staff pages, through services.bridge."""

from __future__ import annotations


from flask import request

from community.services import bridge
from community.services.errors import Invalid
from community.views.api import schemas
from community.views.api.common import bp, json_body, limit_arg, list_response, require_actor
from community.views.api.schemas import channel, inbound, reply


@bp.get("/bridge/channels")
def list_channels():
    return {"items": [channel(item) for item in bridge.channels(require_actor())],
            "next_cursor": None}


@bp.post("/bridge/channels")
def create_channel():
    actor = require_actor()
    data = json_body()
    fields = {name: data.get(name, "") for name in ("kind", "slug", "name")}
    for name, value in fields.items():
        if not isinstance(value, str):
            raise Invalid(name, f"{name}.invalid", f"{name} is a string.")
    return channel(bridge.add_channel(actor, fields["kind"], fields["slug"], _settings(data),
                                      name=fields["name"])), 201


@bp.patch("/bridge/channels/<slug>")
def change_channel(slug: str):
    actor = require_actor()
    data = json_body()
    enabled = data.get("enabled")
    if "enabled" in data and not isinstance(enabled, bool):  # null too: leave it out instead
        raise Invalid("enabled", "enabled.invalid", "enabled is true or false.")
    return channel(bridge.change_channel(actor, slug, settings=_settings(data), enabled=enabled))


def _settings(data: dict) -> dict[str, str]:
    settings = data.get("settings", {})
    if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
        raise Invalid("settings", "channel.settings", "settings is an object of strings.")
    return settings


@bp.get("/bridge/inbound")
def list_inbound():
    page = bridge.recent_inbound(require_actor(), cursor=request.args.get("cursor") or None,
                                 limit=limit_arg())
    return list_response(page, inbound)


@bp.post("/bridge/inbound/<int:inbound_id>/retry")
def retry_inbound(inbound_id: int):
    actor = require_actor()
    row = bridge.get_inbound(actor, inbound_id)
    bridge.retry_intake(actor, row)
    return inbound(bridge.get_inbound(actor, inbound_id))


@bp.get("/bridge/outbox")
def list_outbox():
    page = bridge.list_replies(require_actor(), request.args.get("state") or None,
                         cursor=request.args.get("cursor") or None, limit=limit_arg())
    return list_response(page, reply)


@bp.post("/bridge/outbox/<int:reply_id>/retry")
def retry_reply(reply_id: int):
    actor = require_actor()
    return reply(bridge.retry_reply(actor, bridge.get_reply(actor, reply_id)))


@bp.post("/bridge/outbox/<int:reply_id>/cancel")
def cancel_reply(reply_id: int):
    actor = require_actor()
    return reply(bridge.cancel_reply(actor, bridge.get_reply(actor, reply_id)))


@bp.post("/me/link-code")
def link_code():
    code = bridge.new_link_code(require_actor())
    return {"code": code, "send": f"LINK {code}",
            "expires_in": int(bridge.LINK_CODE_LIFETIME.total_seconds())}, 201


@bp.get("/me/linked-identities")
def linked_identities():
    return {"items": [{"id": item.id, "channel": item.channel.slug, "kind": item.channel.kind,
                       "external_id": item.external_id, "handle": item.handle,
                       "display_name": item.display_name,
                       "linked_at": schemas.timestamp(item.linked_at)}
                      for item in bridge.linked_identities(require_actor())],
            "next_cursor": None}


@bp.delete("/me/linked-identities/<int:identity_id>")
def unlink_identity(identity_id: int):
    bridge.unlink(require_actor(), identity_id)
    return "", 204
