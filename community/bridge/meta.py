"""Messenger and Instagram direct messages: Meta webhooks in, the Send API out.

Both deliver `{"object": "page" | "instagram", "entry": [{"id", "time", "messaging": [...]}]}`
signed with X-Hub-Signature-256, and both answer through `POST /me/messages` with the page
access token. One class holds what they share; the two kinds differ in the `object` they
receive, their length limit (Messenger 2,000 characters, Instagram 1,000 UTF-8 bytes) and
whether a reply can quote the customer's message (Instagram's `reply_to`).

What each `messaging[]` event becomes (docs/BRIDGE.md has the table):

- `message`: a MESSAGE (text, attachments as links, `reply_to.mid` as reply_to); with
  `is_echo` an ECHO by our own account; with `is_deleted` (Instagram unsend) a DELETE of that
  mid; `is_unsupported`, a bare story mention, or anything under `standby` (another app owns
  the conversation, so we may not answer it) is OTHER: stored for staff, not posted.
- `message_edit`: an EDIT of the mid, one per `num_edit`.
- `delivery` / `read`: a STATUS per mid. Messenger receipts often name no mid, only a
  `watermark` (epoch ms: everything sent before it was delivered or read); those become one
  STATUS with `extra["watermark"]` and no reply_to, which the bridge applies to every reply in
  that conversation whose send began before the watermark.
- `postback` (a tap on a button or the persistent menu): OTHER with the button's title. We
  never send buttons, so these are "Get Started" and menu taps, not something to answer.
- reactions, referrals, opt-ins and the rest: OTHER.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from community.bridge import (
    DELETE,
    ECHO,
    EDIT,
    MESSAGE,
    OTHER,
    STATUS,
    Author,
    NormalizedMessage,
    PayloadError,
    Reply,
    SendError,
    SendUncertain,
    Setting,
    WebhookRequest,
)
from community.bridge.base import (
    BaseAdapter,
    Response,
    dicts,
    graph_error,
    graph_error_codes,
    hmac_sha256,
    hub_handshake,
    load_json,
    timestamp,
    unexpected_answer,
    verify_hub_signature,
)
from community.bridge.text import count_chars, count_utf8_bytes

GRAPH = "https://graph.facebook.com/v21.0"
# Graph API error codes that mean "later", though they come with HTTP 400/403: API too many
# calls (4), user/page/app rate limits (17, 32, 613, 341), Messenger rate limit (80006), and
# unknown or temporary errors (1, 2). Anything else in the 4xx range is permanent.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 80006})


class MetaMessagingAdapter(BaseAdapter):
    """What Messenger and Instagram share; subclasses set `kind`, `object_name` and limits."""

    object_name = ""
    SETTINGS = (
        Setting("app_secret", "Meta app secret (signs webhooks, and our appsecret_proof)",
                secret=True),
        Setting("verify_token", "token Meta echoes in the subscription check", secret=True),
        Setting("page_access_token", "page access token for the Send API", secret=True),
        Setting("page_id", "our own Page id (Instagram: the professional account id), to "
                "tell our messages from the customer's"),
        Setting("api_base", "Graph API base URL", required=False, default=GRAPH, url=True),
    )
    reply_window = timedelta(hours=24)
    ages_out = True
    # Whether the Send API takes `"reply_to": {"mid": ...}` to quote the customer's message.
    quotes_reply = False

    # ---- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        verify_hub_signature(request, self.settings.get("app_secret"))

    def handshake(self, args: Mapping[str, str]) -> str | None:
        return hub_handshake(args, self.settings.get("verify_token"))

    def parse(self, body: bytes) -> list[NormalizedMessage]:
        document = load_json(body)
        if not isinstance(document, dict):
            raise PayloadError("expected a JSON object")
        # Meta always names the object; a delivery that leaves it out is read as ours.
        if document.get("object", self.object_name) != self.object_name:
            raise PayloadError(f"not a {self.object_name!r} delivery "
                               f"(object {str(document.get('object'))[:40]!r})")
        if not isinstance(document.get("entry"), list):
            raise PayloadError("a Meta delivery needs an entry list")
        ours = str(self.settings.get("page_id") or "")
        found: list[NormalizedMessage] = []
        for entry in dicts(document["entry"]):
            for event in dicts(entry.get("messaging")):
                found.extend(self._event(event, ours, standby=False))
            for event in dicts(entry.get("standby")):
                found.extend(self._event(event, ours, standby=True))
        return found

    def _event(self, event: dict[str, Any], ours: str,
               standby: bool) -> list[NormalizedMessage]:
        sender = _id(event.get("sender"))
        recipient = _id(event.get("recipient"))
        # The customer is whichever side is not us (echo shapes differ: go by is_echo, not sender).
        customer = recipient if sender == ours and recipient else sender
        when = timestamp(event.get("timestamp"))
        base = {"sent_at": when, "conversation": customer}
        customer_author = Author(customer) if customer else None

        message = event.get("message")
        if isinstance(message, dict):
            return [self._message(message, base, customer_author, ours or sender, standby)]
        edit = event.get("message_edit")
        if isinstance(edit, dict) and edit.get("mid"):
            mid = str(edit["mid"])
            return [NormalizedMessage(
                kind=EDIT, external_id=f"edit:{mid}:{edit.get('num_edit', event.get('timestamp'))}",
                author=customer_author, text=str(edit.get("text") or ""), reply_to=mid, **base)]
        for receipt, status in (("delivery", "delivered"), ("read", "read")):
            part = event.get(receipt)
            if isinstance(part, dict):
                return self._receipt(part, status, customer, base)
        postback = event.get("postback")
        if isinstance(postback, dict):
            label = str(postback.get("title") or postback.get("payload") or "")
            key = postback.get("mid") or f"{customer}:{event.get('timestamp')}:{_digest(event)}"
            return [NormalizedMessage(kind=OTHER, external_id=f"postback:{key}",
                                      author=customer_author, text=label, **base)]
        reaction = event.get("reaction")
        if isinstance(reaction, dict):
            return [NormalizedMessage(
                kind=OTHER, author=customer_author, text=str(reaction.get("emoji") or ""),
                external_id=f"reaction:{reaction.get('mid')}:{reaction.get('action')}:"
                            f"{event.get('timestamp')}:{_digest(event)}",
                reply_to=str(reaction.get("mid") or "") or None, **base)]
        # Referrals, opt-ins, handover notices, policy notices...: kept, not posted.
        return [NormalizedMessage(kind=OTHER, external_id=f"event:{_digest(event)}",
                                  author=None, **base)]

    def _message(self, message: dict[str, Any], base: dict[str, Any], customer: Author | None,
                 ours: str, standby: bool) -> NormalizedMessage:
        mid = str(message.get("mid") or "")
        if not mid:
            raise PayloadError("a message event needs a mid")
        text, media = _content(message)
        quoted = message.get("reply_to") if isinstance(message.get("reply_to"), dict) else {}
        if message.get("is_echo"):
            # Our page wrote this: a reply we sent (matched by mid) or staff typing in the inbox.
            return NormalizedMessage(kind=ECHO, external_id=f"echo:{mid}",
                                     author=Author(ours, is_brand=True), text=text, media=media,
                                     reply_to=mid, **base)
        if message.get("is_deleted"):
            return NormalizedMessage(kind=DELETE, external_id=f"delete:{mid}", author=customer,
                                     reply_to=mid, **base)
        if customer is None:
            raise PayloadError("a message event needs a sender id")
        mentions_only = bool(media) and not text and all(
            item["type"] == "story_mention" for item in media)
        unusable = standby or message.get("is_unsupported") or mentions_only \
            or not (text or media)
        return NormalizedMessage(
            kind=OTHER if unusable else MESSAGE,
            external_id=f"standby:{mid}" if standby else mid, author=customer, text=text,
            media=media, reply_to=str(quoted["mid"]) if quoted.get("mid") else None, **base)

    def _receipt(self, part: dict[str, Any], status: str, customer: str,
                 base: dict[str, Any]) -> list[NormalizedMessage]:
        mids = part.get("mids") if isinstance(part.get("mids"), list) else []
        if part.get("mid"):
            mids = [*mids, part["mid"]]
        if mids:
            return [NormalizedMessage(kind=STATUS, external_id=f"{status}:{mid}", author=None,
                                      reply_to=str(mid), status=status, **base)
                    for mid in dict.fromkeys(str(m) for m in mids if m)]
        watermark = part.get("watermark")
        if not isinstance(watermark, (int, float)) or isinstance(watermark, bool):
            raise PayloadError(f"a {status} receipt needs mids or a numeric watermark")
        return [NormalizedMessage(kind=STATUS, external_id=f"{status}:{customer}:{watermark}",
                                  author=None, status=status, extra={"watermark": int(watermark)},
                                  **base)]

    # ---- outbound -----------------------------------------------------------------------------

    def send(self, reply: Reply) -> str:
        token = self.setting("page_access_token")
        body: dict[str, Any] = {"recipient": {"id": reply.recipient},
                                "messaging_type": "RESPONSE", "message": {"text": reply.text}}
        if self.quotes_reply and reply.in_reply_to:
            body["reply_to"] = {"mid": reply.in_reply_to}
        # The Send API takes the page token as `access_token`; appsecret_proof proves the call
        # comes from our server (required when the app enables "Require App Secret").
        params = {"access_token": token,
                  "appsecret_proof": hmac_sha256(self.setting("app_secret"), token.encode())}
        try:
            answer = self.call("POST", f"{self.api_base}/me/messages", params=params, json=body)
        except SendError as exc:
            raise SendError(_redact(str(exc), token), permanent=exc.permanent,
                            retry_after=exc.retry_after) from None
        except SendUncertain as exc:
            raise SendUncertain(_redact(str(exc), token)) from None
        message_id = answer.get("message_id") if isinstance(answer, dict) else None
        if not message_id:
            raise unexpected_answer("the Send API", answer)
        return str(message_id)

    def refine_error(self, response: Response, error: SendError) -> SendError:
        """Meta signals rate limits with error codes in 400/403 bodies, not with HTTP 429; the
        codes (not the message) go into the error for staff."""
        detail = graph_error(response)
        message = str(error) + graph_error_codes(detail)
        code = detail.get("code")
        if error.permanent and (detail.get("is_transient") is True or (
                isinstance(code, int) and code in TRANSIENT_CODES)):
            return SendError(message, retry_after=error.retry_after or _usage_wait(response))
        return SendError(message, permanent=error.permanent, retry_after=error.retry_after)


class MessengerAdapter(MetaMessagingAdapter):
    kind = "messenger"
    object_name = "page"
    limit = 2000
    measure = staticmethod(count_chars)


class InstagramAdapter(MetaMessagingAdapter):
    kind = "instagram"
    object_name = "instagram"
    limit = 1000
    measure = staticmethod(count_utf8_bytes)
    quotes_reply = True


def _content(message: Mapping[str, Any]) -> tuple[str, tuple[Mapping[str, str], ...]]:
    """Text and links: attachments (a list, or one object) and the story a reply quotes."""
    text = str(message.get("text") or "")
    attachments = message.get("attachments")
    attachments = [attachments] if isinstance(attachments, dict) else dicts(attachments)
    media: list[dict[str, str]] = []
    for item in attachments:
        kind = str(item.get("type") or "file")
        payload = item.get("payload") if isinstance(item.get("payload"), dict) else {}
        url = payload.get("url") or item.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            media.append({"type": kind, "url": url})
        elif kind == "location" and isinstance(payload.get("coordinates"), dict):
            where = payload["coordinates"]
            text = (text + f"\n\nLocation: {where.get('lat')}, {where.get('long')}").strip()
    story = (message.get("reply_to") or {}).get("story") \
        if isinstance(message.get("reply_to"), dict) else None
    if isinstance(story, dict) and str(story.get("url") or "").startswith(("http://", "https://")):
        media.append({"type": "story", "url": str(story["url"])})
    return text, tuple(media)


def _usage_wait(response: Response) -> float | None:
    """Seconds until access returns, from X-Business-Use-Case-Usage (minutes per business)."""
    try:
        usage = json.loads(response.headers.get("x-business-use-case-usage") or "{}")
        minutes = [float(item.get("estimated_time_to_regain_access") or 0)
                   for items in usage.values() for item in items if isinstance(item, dict)]
    except (ValueError, TypeError, AttributeError):
        return None
    wait = max(minutes, default=0.0)
    return wait * 60 if wait > 0 else None


def _redact(message: str, token: str) -> str:
    return message.replace(token, "<page-access-token>") if token else message


def _digest(event: Mapping[str, Any]) -> str:
    """A stable id for events that carry none: the same event delivered twice gets the same."""
    return hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()[:24]


def _id(party: Any) -> str:
    return str(party.get("id") or "") if isinstance(party, dict) else ""


