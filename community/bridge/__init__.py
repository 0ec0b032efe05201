"""Channel adapters: each turns one network's bytes into `NormalizedMessage`s and sends replies.

An adapter only translates and talks HTTP: it never opens a database session. It is
built from a channel's kind and settings by `adapter_for`, and takes its API base URL from those
settings, so tests point it at a local server that behaves like the real API.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

MESSAGE, EDIT, DELETE, ECHO, STATUS = "message", "edit", "delete", "echo", "status"
# Stored but not posted: reactions, unsupported types, service notices.
OTHER = "other"


class SignatureError(Exception):
    """The request is not from the channel: bad, missing or stale signature (stores nothing)."""


class PayloadError(Exception):
    """The body verified but is not something this channel sends."""


class SendError(Exception):
    """The channel refused a reply. `permanent` errors are not retried; `retry_after` is seconds."""

    def __init__(self, message: str, *, permanent: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class SendUncertain(Exception):
    """The request went out but no answer came back: the reply may or may not have been posted."""


@dataclass(frozen=True)
class Author:
    external_id: str
    handle: str = ""
    display_name: str = ""
    # True when the channel says this is our own account (a staff reply made on the channel).
    is_brand: bool = False


@dataclass(frozen=True)
class NormalizedMessage:
    """What every channel's events come down to.

    `external_id` is unique per channel for this event (an edit or a status gets its own);
    `reply_to` is the message this one replies to, or the original an edit/deletion/status is
    about. `extra` holds channel details a reply needs (e.g. Mastodon visibility).
    """

    kind: str
    external_id: str
    author: Author | None
    sent_at: datetime
    text: str = ""
    media: tuple[Mapping[str, str], ...] = ()
    conversation: str = ""
    reply_to: str | None = None
    status: str | None = None
    error: str | None = None
    url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A message to send back: to whom, in reply to what, and the idempotency key."""

    text: str
    recipient: str                 # the channel's user id (or chat id)
    conversation: str
    in_reply_to: str               # the customer's message id
    idempotency_key: str
    handle: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PollResult:
    """What a polling adapter fetched: messages, the raw API answer, and the cursor to keep."""

    messages: list[NormalizedMessage]
    raw: str
    cursor: Mapping[str, Any]


@dataclass(frozen=True)
class WebhookRequest:
    body: bytes
    headers: Mapping[str, str]
    args: Mapping[str, str]


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    secret: bool = False
    required: bool = True
    default: str | None = None
    # An address the server requests (api_base, callback_url): http(s), public addresses only.
    url: bool = False


class ChannelAdapter(Protocol):
    kind: str
    # Settings this kind understands, for the admin page, the CLI and validation.
    SETTINGS: tuple[Setting, ...]
    # Longest reply, measured by `measure` (characters, UTF-8 bytes, weighted characters...).
    limit: int
    measure: Callable[[str], int]
    # Free-form replies are allowed only this long after the customer's last message (or None).
    reply_window: timedelta | None
    # Resending with the same idempotency key cannot post twice (the provider de-duplicates).
    idempotent: bool
    # `lookup` can find a reply already posted (to settle a send a crash interrupted).
    can_look_up: bool
    # How a message with no reply_to joins a thread: "open" (same chat while the thread is open),
    # "always" (same public conversation) or "never".
    joins_conversation: str
    # Events dated more than BRIDGE_MAX_MESSAGE_AGE_HOURS ago are kept for staff, not taken in:
    # the platform redelivers for a few days at most, so an older one is a replay.
    ages_out: bool

    def verify(self, request: WebhookRequest) -> None: ...
    def handshake(self, args: Mapping[str, str]) -> str | None: ...
    def parse(self, body: bytes) -> list[NormalizedMessage]: ...
    def send(self, reply: Reply) -> str: ...
    def lookup(self, reply: Reply) -> str | None: ...


@runtime_checkable
class PollingAdapter(Protocol):
    """What a channel without push (X mentions, Mastodon notifications) has besides the
    `ChannelAdapter` members: it is fetched on a schedule."""

    poll_seconds: float

    def poll(self) -> PollResult: ...


KINDS = {
    "whatsapp": "community.bridge.whatsapp:WhatsAppAdapter",
    "messenger": "community.bridge.meta:MessengerAdapter",
    "instagram": "community.bridge.meta:InstagramAdapter",
    "telegram": "community.bridge.telegram:TelegramAdapter",
    "x": "community.bridge.x:XAdapter",
    "mastodon": "community.bridge.mastodon:MastodonAdapter",
    "generic": "community.bridge.generic:GenericAdapter",
}


def adapter_class(kind: str) -> type:
    try:
        module, name = KINDS[kind].split(":")
    except KeyError:
        raise ValueError(f"unknown channel kind {kind!r}") from None
    return getattr(importlib.import_module(module), name)


def adapter_for(kind: str, settings: Mapping[str, Any], cursor: Mapping[str, Any] | None = None,
                *, private_targets: bool = False):
    """The adapter for a channel, built from copies of its settings (and poll cursor). It
    requests public addresses only, unless `private_targets` (WEBHOOKS_ALLOW_PRIVATE_TARGETS)."""
    return adapter_class(kind)(dict(settings), dict(cursor or {}),
                               private_targets=private_targets)
