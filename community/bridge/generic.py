"""The generic channel: our own signed JSON activities, for any system without an adapter.

Inbound, a partner POSTs one activity, or `{"activities": [...]}`, signed with
`X-Bridge-Timestamp` and `X-Bridge-Signature: sha256=HMAC(secret, timestamp + "." + body)`.
Replies go to the channel's `callback_url`, signed the same way, with an `Idempotency-Key`
header the partner uses to drop repeats. docs/BRIDGE.md is the contract.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from community.bridge import (
    DELETE,
    EDIT,
    MESSAGE,
    STATUS,
    Author,
    NormalizedMessage,
    PayloadError,
    Reply,
    Setting,
    SignatureError,
    WebhookRequest,
)
from community.bridge.base import (BaseAdapter, header, hmac_sha256, load_json, require_signature,
                                   timestamp)

MAX_SKEW_SECONDS = 300
TYPES = {"message": MESSAGE, "edit": EDIT, "delete": DELETE, "status": STATUS}


def sign(secret: str, body: bytes, at: int | None = None) -> dict[str, str]:
    """The two headers that sign `body` (used for our replies, and by partners and tests)."""
    stamp = str(int(time.time()) if at is None else at)
    return {"X-Bridge-Timestamp": stamp,
            "X-Bridge-Signature": "sha256=" + hmac_sha256(secret, stamp.encode() + b"." + body)}


class GenericAdapter(BaseAdapter):
    kind = "generic"
    SETTINGS = (
        Setting("secret", "shared secret for signatures, both ways", secret=True),
        Setting("callback_url", "where replies are POSTed", url=True),
        Setting("lookup_url", "GET ?idempotency_key=... finds a reply already posted",
                required=False, url=True),
        Setting("limit", "longest reply in characters", required=False, default="4096"),
    )
    idempotent = True

    def __init__(self, settings: Mapping[str, Any], cursor: Mapping[str, Any],
                 **options: Any) -> None:
        super().__init__(settings, cursor, **options)
        self.limit = int(self.setting("limit"))

    def verify(self, request: WebhookRequest) -> None:
        stamp = (header(request, "X-Bridge-Timestamp") or "").strip()
        # ASCII digits, and few: isdigit() also takes "²", and int() refuses 4,300+ digits.
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            raise SignatureError("missing or malformed X-Bridge-Timestamp")
        if abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
            raise SignatureError("timestamp more than 5 minutes off")
        expected = hmac_sha256(self.settings.get("secret") or "", stamp.encode() + b"." +
                               request.body)
        if not self.settings.get("secret"):
            raise SignatureError("channel has no secret configured")
        require_signature(expected, header(request, "X-Bridge-Signature"))

    def parse(self, body: bytes) -> list[NormalizedMessage]:
        document = load_json(body)
        items = document.get("activities") if isinstance(document, dict) else None
        if items is None:
            items = [document]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise PayloadError("expected an activity object or {\"activities\": [...]}")
        return [self._activity(item) for item in items]

    def _activity(self, item: dict[str, Any]) -> NormalizedMessage:
        kind = TYPES.get(item.get("type", "message")) if _text(item.get("type", "")) else None
        if kind is None:
            raise PayloadError(f"unknown activity type {item.get('type')!r}")
        external_id = item.get("id")
        if not isinstance(external_id, (str, int)) or str(external_id) == "":
            raise PayloadError("every activity needs an id")
        author = item.get("author")
        if not (isinstance(author, dict) and author.get("id")):
            if kind != STATUS:
                raise PayloadError("messages need an author with an id")
            author = None
        media = item.get("media") or []
        if not isinstance(media, list):
            raise PayloadError("media is a list of {url, type}")
        if not (_text(item.get("status")) and _text(item.get("error"))):
            raise PayloadError("status and error are strings")
        return NormalizedMessage(
            kind=kind,
            external_id=str(external_id) if kind == MESSAGE else f"{kind}:{external_id}",
            author=Author(str(author["id"]), str(author.get("handle") or ""),
                          str(author.get("name") or ""), bool(author.get("is_brand")))
            if author else None,
            sent_at=timestamp(item.get("timestamp")),
            text=str(item.get("text") or ""),
            media=tuple({"url": str(m.get("url")), "type": str(m.get("type") or "file")}
                        for m in media if isinstance(m, dict) and m.get("url")),
            conversation=str(item.get("conversation") or ""),
            reply_to=_optional(item.get("in_reply_to") if kind == MESSAGE else item.get("target")),
            status=item.get("status") if kind == STATUS else None,
            error=item.get("error") if kind == STATUS else None,
            url=item.get("url") if isinstance(item.get("url"), str) else None,
        )

    def send(self, reply: Reply) -> str:
        body = json.dumps({
            "type": "reply",
            "idempotency_key": reply.idempotency_key,
            "to": reply.recipient,
            "conversation": reply.conversation,
            "in_reply_to": reply.in_reply_to,
            "text": reply.text,
        }, ensure_ascii=False).encode()
        answer = self.call("POST", self.setting("callback_url"), content=body, headers={
            "Content-Type": "application/json", "Idempotency-Key": reply.idempotency_key,
            **sign(self.setting("secret"), body)})
        return str(answer.get("id") or reply.idempotency_key)

    @property
    def can_look_up(self) -> bool:
        return bool(self.settings.get("lookup_url"))

    def lookup(self, reply: Reply) -> str | None:
        answer = self.call("GET", self.setting("lookup_url"),
                           params={"idempotency_key": reply.idempotency_key})
        found = answer.get("id") if isinstance(answer, dict) else None
        return str(found) if found else None


def _text(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _optional(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
