"""WhatsApp Cloud API: webhook deliveries in, `POST /{phone_number_id}/messages` out.

Deliveries batch `messages` (customer messages, edits, revokes), `statuses` (our replies' sent,
delivered, read, failed) and, under the `smb_message_echoes` field, what the business sent from
its own app. Free-form replies are allowed within 24 hours of the customer's last message.
"""

from __future__ import annotations

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
    Setting,
    WebhookRequest,
)
from community.bridge.base import (BaseAdapter, Response, dicts, graph_error, graph_error_codes,
                                   hub_handshake, load_json, timestamp, unexpected_answer,
                                   verify_hub_signature)

GRAPH = "https://graph.facebook.com/v21.0"
MEDIA_TYPES = ("image", "video", "audio", "voice", "document", "sticker")


class WhatsAppAdapter(BaseAdapter):
    kind = "whatsapp"
    SETTINGS = (
        Setting("app_secret", "Meta app secret (signs webhooks)", secret=True),
        Setting("verify_token", "token Meta echoes in the subscription check", secret=True),
        Setting("access_token", "system-user access token for sending", secret=True),
        Setting("phone_number_id", "the business phone number id replies are sent from"),
        Setting("api_base", "Graph API base URL", required=False, default=GRAPH, url=True),
    )
    limit = 4096
    reply_window = timedelta(hours=24)
    ages_out = True

    def verify(self, request: WebhookRequest) -> None:
        verify_hub_signature(request, self.settings.get("app_secret"))

    def handshake(self, args: Mapping[str, str]) -> str | None:
        return hub_handshake(args, self.settings.get("verify_token"))

    def parse(self, body: bytes) -> list[NormalizedMessage]:
        document = load_json(body)
        if not isinstance(document, dict) or document.get("object") != "whatsapp_business_account":
            raise PayloadError("not a WhatsApp Business Account delivery")
        found: list[NormalizedMessage] = []
        for entry in dicts(document.get("entry")):
            for change in dicts(entry.get("changes")):
                value = change.get("value") or {}
                names = {c.get("wa_id"): (c.get("profile") or {}).get("name", "")
                         for c in dicts(value.get("contacts"))}
                ours = (value.get("metadata") or {}).get("display_phone_number")
                for message in dicts(value.get("messages")):
                    found.append(self._message(message, names, ours))
                for echo in dicts(value.get("message_echoes")):
                    found.append(self._echo(echo))
                for status in dicts(value.get("statuses")):
                    found.append(self._status(status))
        return found

    def _message(self, message: dict[str, Any], names: dict, ours: str | None) -> NormalizedMessage:
        sender = str(message.get("from") or "")
        if not sender or not message.get("id"):
            raise PayloadError("a WhatsApp message needs from and id")
        author = Author(sender, sender, names.get(sender) or "", is_brand=sender == ours)
        kind, reply_to, content = MESSAGE, (message.get("context") or {}).get("id"), message
        external_id = str(message["id"])
        if message.get("type") == "edit":
            edit = message.get("edit") or {}
            kind, reply_to, content = EDIT, edit.get("original_message_id"), edit.get("message") or {}
            external_id = f"edit:{external_id}:{message.get('timestamp', '')}"
        elif message.get("type") in ("reaction", "unsupported"):
            kind = OTHER
        elif message.get("type") == "revoke":
            kind, reply_to = DELETE, (message.get("revoke") or {}).get("original_message_id")
            external_id = f"delete:{external_id}"
        text, media = self._content(content)
        return NormalizedMessage(kind=kind, external_id=external_id, author=author,
                                 sent_at=timestamp(message.get("timestamp")), text=text,
                                 media=media, conversation=sender, reply_to=reply_to)

    def _echo(self, echo: dict[str, Any]) -> NormalizedMessage:
        text, media = self._content(echo)
        return NormalizedMessage(kind=ECHO, external_id=f"echo:{echo.get('id')}",
                                 author=Author(str(echo.get("from") or ""), is_brand=True),
                                 sent_at=timestamp(echo.get("timestamp")), text=text, media=media,
                                 conversation=str(echo.get("to") or ""),
                                 reply_to=str(echo.get("id") or "") or None)

    def _status(self, status: dict[str, Any]) -> NormalizedMessage:
        errors = dicts(status.get("errors"))
        error = "; ".join(f"{e.get('code')}: {e.get('title') or e.get('message')}" for e in errors)
        return NormalizedMessage(
            kind=STATUS, external_id=f"status:{status.get('id')}:{status.get('status')}",
            author=None, sent_at=timestamp(status.get("timestamp")),
            conversation=str(status.get("recipient_id") or ""), reply_to=str(status.get("id")),
            status=str(status.get("status") or ""), error=error or None)

    def _content(self, message: Mapping[str, Any]) -> tuple[str, tuple[Mapping[str, str], ...]]:
        kind = message.get("type")
        part = message.get(kind) if isinstance(kind, str) else None
        part = part if isinstance(part, dict) else {}
        if kind == "text":
            return str(part.get("body") or ""), ()
        if kind in MEDIA_TYPES:
            url = part.get("url") or (f"{self.api_base}/{part['id']}" if part.get("id") else None)
            media = ({"url": str(url), "type": kind},) if url else ()
            return str(part.get("caption") or part.get("filename") or ""), media
        if kind == "location":
            place = " ".join(str(part.get(k)) for k in ("name", "address") if part.get(k))
            return f"{place} ({part.get('latitude')}, {part.get('longitude')})".strip(), ()
        if kind == "contacts":
            people = [(c.get("name") or {}).get("formatted_name", "")
                      for c in dicts(message.get("contacts"))]
            return "Shared contacts: " + ", ".join(p for p in people if p), ()
        if kind == "interactive":
            choice = part.get("button_reply") or part.get("list_reply") or {}
            return str(choice.get("title") or ""), ()
        if kind == "button":
            return str(part.get("text") or ""), ()
        if kind == "order":
            items = dicts(part.get("product_items"))
            return (part.get("text") or f"Order of {len(items)} item(s)"), ()
        if kind == "reaction":
            return str(part.get("emoji") or ""), ()
        return "", ()

    def refine_error(self, response: Response, error: SendError) -> SendError:
        """The Graph API's error numbers (131030: not an allowed recipient...), for staff."""
        return SendError(str(error) + graph_error_codes(graph_error(response)),
                         permanent=error.permanent, retry_after=error.retry_after)

    def send(self, reply: Reply) -> str:
        answer = self.call(
            "POST", f"{self.api_base}/{self.setting('phone_number_id')}/messages",
            headers={"Authorization": f"Bearer {self.setting('access_token')}"},
            json={"messaging_product": "whatsapp", "recipient_type": "individual",
                  "to": reply.recipient, "type": "text",
                  "context": {"message_id": reply.in_reply_to},
                  "text": {"preview_url": True, "body": reply.text}})
        try:
            return str(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise unexpected_answer("WhatsApp", answer) from None


