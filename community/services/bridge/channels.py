"""Channels: adding and changing them (admins), reading them (staff), and the enabled channel a
webhook URL names, kept briefly per process."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from time import monotonic

from flask import current_app
from sqlalchemy import bindparam, select

from community.bridge import Setting, adapter_class, adapter_for
from community.extensions import db
from community.models import Channel, User
from community.models.bridge import CHANNEL_KINDS
from community.outbound import RefusedTarget, check_url
from community.services import accounts, audit, permissions
from community.services.errors import Invalid, NotFound
from community.services.links import absolute
from community.services.text import clean_text

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
KIND_LABELS = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram",
               "telegram": "Telegram", "x": "X", "mastodon": "Mastodon", "generic": "Partner"}


def add_channel(actor: User | None, kind: str, slug: str, settings: Mapping[str, str], *,
                name: str = "") -> Channel:
    """Configure a channel. Admins only; `actor=None` is the command line (already trusted).

    Raises Invalid for an unknown kind, a bad slug, missing or unknown settings; Conflict-like
    Invalid when the slug is taken.
    """
    if actor is not None:
        permissions.require(actor, "bridge.manage")
    if kind not in CHANNEL_KINDS:
        raise Invalid("kind", "channel.kind", f"Kind must be one of {', '.join(CHANNEL_KINDS)}.")
    slug = clean_text(slug).lower()
    if not SLUG_RE.fullmatch(slug):
        raise Invalid("slug", "channel.slug", "Slugs are 2 to 40 lower-case letters, digits or -.")
    if db.session.scalar(select(Channel.id).where(Channel.slug == slug)):
        raise Invalid("slug", "channel.slug_taken", "Another channel has that slug.")
    settings = _check_settings(kind, settings)
    _check_addresses(kind, settings)
    label = clean_text(name) or f"{KIND_LABELS[kind]} ({slug})"
    staff = accounts.system_user(f"{slug}-team", role="staff",
                                 bio=f"Replies our team made directly on {label}.")
    channel = Channel(kind=kind, slug=slug, name=label[:100], settings=settings, staff_user=staff)
    db.session.add(channel)
    db.session.flush()
    audit.record(actor, "channel.add", "channel", channel.id, after=_audited(channel))
    db.session.commit()
    return channel


def change_channel(actor: User | None, slug: str, *, settings: Mapping[str, str] | None = None,
                   enabled: bool | None = None) -> Channel:
    """Change a channel's settings (each one given replaces the stored value; an empty value
    removes an optional setting) and turn it off or on: rotate a leaked secret, point it at a new
    API, stop a channel taking webhooks. Admins only; `actor=None` is the command line.

    This process reads the channel afresh at its next webhook; other server processes within
    BRIDGE_CHANNEL_CACHE_SECONDS. Raises NotFound, and Invalid like `add_channel`.
    """
    if actor is not None:
        permissions.require(actor, "bridge.manage")
    channel = _channel_named(slug)
    before = _audited(channel)
    if settings:
        merged = {**channel.settings, **settings}
        channel.settings = _check_settings(
            channel.kind, {name: value for name, value in merged.items() if value != ""})
        _check_addresses(channel.kind, {name: value for name, value in channel.settings.items()
                                        if name in settings})
    if enabled is not None:
        channel.is_enabled = enabled
    audit.record(actor, "channel.change", "channel", channel.id, before=before,
                 after=_audited(channel))
    db.session.commit()
    forget_webhook_channels()
    return channel


def _audited(channel: Channel) -> dict:
    """What the audit log keeps of a channel: secrets only as their last characters."""
    return {"slug": channel.slug, "enabled": channel.is_enabled is not False,
            "settings": masked_settings(channel)}


def parse_settings(lines: str | Iterable[str]) -> dict[str, str]:
    """`name=value` lines (the admin page's text box, the CLI's repeated --setting)."""
    settings = {}
    lines = lines.splitlines() if isinstance(lines, str) else lines
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise Invalid("settings", "channel.setting_format",
                          f"Setting {number} is not name=value.")
        settings[name.strip()] = value.strip()
    return settings


def setting_specs(kind: str) -> tuple[Setting, ...]:
    """The settings a kind of channel takes, for the admin page and `community bridge kinds`."""
    return tuple(adapter_class(kind).SETTINGS)


def _check_settings(kind: str, given: Mapping[str, str]) -> dict[str, str]:
    specs = {spec.name: spec for spec in setting_specs(kind)}
    unknown = sorted(set(given) - set(specs))
    if unknown:
        raise Invalid("settings", "channel.unknown_setting",
                      f"{kind} channels have no setting {', '.join(unknown)}; "
                      f"they take {', '.join(specs)}.")
    missing = [name for name, spec in specs.items() if spec.required and not given.get(name)]
    if missing:
        raise Invalid("settings", "channel.missing_setting",
                      f"{kind} channels need {', '.join(missing)}.")
    return {name: clean_text(str(value)) for name, value in given.items()}


def _check_addresses(kind: str, settings: Mapping[str, str]) -> None:
    """Settings the server requests (api_base, callback_url, ...) must be http(s) URLs whose
    every address is public, unless WEBHOOKS_ALLOW_PRIVATE_TARGETS. The adapters check again
    when they connect, since a name can resolve elsewhere later."""
    for spec in setting_specs(kind):
        if spec.url and settings.get(spec.name):
            try:
                check_url(settings[spec.name], allow_private=_private_targets())
            except RefusedTarget as exc:
                raise Invalid("settings", "channel.address",
                              f"{spec.name} is refused: {exc}.") from None


def _private_targets() -> bool:
    return bool(current_app.config["WEBHOOKS_ALLOW_PRIVATE_TARGETS"])


def masked_settings(channel: Channel) -> dict[str, str]:
    """Settings fit to show back: secrets reduced to their last 4 characters."""
    secret = {spec.name for spec in setting_specs(channel.kind) if spec.secret}
    return {name: ("…" + value[-4:] if len(value) > 8 else "…") if name in secret else value
            for name, value in sorted(channel.settings.items())}


def webhook_link(channel: Channel) -> str:
    """Where the channel must send its webhooks (from BASE_URL, whoever asks)."""
    return absolute("bridge.webhook", slug=channel.slug)


def adapter(channel: Channel):
    """The channel's adapter, which speaks its API."""
    return adapter_for(channel.kind, channel.settings, channel.cursor,
                       private_targets=_private_targets())


def channels(actor: User | None) -> list[Channel]:
    """Every channel, by slug. Staff; `actor=None` is the command line."""
    if actor is not None:
        permissions.require(actor, "bridge.view")
    return list(db.session.scalars(select(Channel).order_by(Channel.slug)))


def get_channel(actor: User | None, slug: str) -> Channel:
    """One channel by slug. Staff; raises NotFound."""
    if actor is not None:
        permissions.require(actor, "bridge.view")
    return _channel_named(slug)


def _channel_named(slug: str) -> Channel:
    channel = db.session.scalar(select(Channel).where(Channel.slug == clean_text(slug).lower()))
    if channel is None:
        raise NotFound("channel.not_found", "No such channel.")
    return channel


# ---- the channel a webhook names, kept briefly ----------------------------------------------

_WEBHOOK_CHANNELS = "community.webhook_channels"  # slug -> (kept until, row, adapter)
_ENABLED_CHANNEL = (select(Channel.__table__.c.id, Channel.__table__.c.kind,
                           Channel.__table__.c.settings, Channel.__table__.c.cursor)
                    .where(Channel.__table__.c.slug == bindparam("slug"),
                           Channel.__table__.c.is_enabled.is_(True)))


def webhook_channel(slug: str):
    """The enabled channel a webhook URL names, as a plain row, and its adapter.

    Kept for BRIDGE_CHANNEL_CACHE_SECONDS (1): a burst's deliveries skip a read each (a tenth
    of a webhook's time), and a channel changed by another process takes that long to apply
    here (`change_channel` forgets the kept rows of its own process). Unknown slugs are not
    kept, so a new channel works at once.
    """
    kept = current_app.extensions.setdefault(_WEBHOOK_CHANNELS, {})
    now = monotonic()
    found = kept.get(slug)
    if found is None or found[0] <= now:
        with db.engine.connect() as connection:
            channel = connection.execute(_ENABLED_CHANNEL, {"slug": slug}).one_or_none()
        if channel is None:
            raise NotFound("channel.not_found", "No such channel.")
        found = kept[slug] = (now + current_app.config["BRIDGE_CHANNEL_CACHE_SECONDS"], channel,
                              adapter_for(channel.kind, channel.settings, channel.cursor,
                                          private_targets=_private_targets()))
    return found[1], found[2]


def forget_webhook_channels() -> None:
    """Read every channel afresh at its next webhook in this process (after a channel changed:
    `change_channel`, or a test emptying the database)."""
    current_app.extensions.setdefault(_WEBHOOK_CHANNELS, {}).clear()
