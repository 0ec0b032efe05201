"""Telegram bots: webhook updates in, `sendMessage` out.

Telegram signs nothing; `setWebhook(secret_token=...)` makes it send that secret in the
X-Telegram-Bot-Api-Secret-Token header, which we compare in constant time. The bot token is
never part of our webhook URL and never leaves this module in an error message.

What an update becomes (docs/BRIDGE.md has the table):

- `message`: a MESSAGE with its text or caption (hidden `text_link` URLs written out after
  their words; entity offsets count UTF-16 units), media as `tg-file:<file_id>` references and
  `reply_to_message` as reply_to. A bare bot command ("/start", sent when someone opens the
  bot) and service notices (members joining, pins) are OTHER: stored, not posted. Our own bot as
  author is an ECHO.
- `edited_message`: an EDIT of the original, one per `edit_date`.
- `channel_post` and everything else (inline queries, button callbacks, reactions, member
  updates): OTHER. Channel posts are broadcasts by a channel's admins, not someone asking us.

Message ids are only unique within a chat, so a message's id here is `"<chat id>:<message id>"`.
Media: Telegram gives file ids, and a download link needs the bot token in its path, which must
not end up in a post; the `tg-file:` reference keeps the file findable for staff (via getFile)
and the bridge, which only shows http(s) links, leaves it out of the post.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

from community.bridge import (
    ECHO,
    EDIT,
    MESSAGE,
    OTHER,
    Author,
    NormalizedMessage,
    PayloadError,
    Reply,
    SendError,
    SendUncertain,
    Setting,
    SignatureError,
    WebhookRequest,
)
from community.bridge.base import (BaseAdapter, Response, header, load_json, timestamp,
                                   unexpected_answer)
from community.bridge.text import count_utf16_units

API = "https://api.telegram.org"
MEDIA_TYPES = ("photo", "video", "animation", "audio", "voice", "video_note", "document",
               "sticker")
COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,64})?$")


class TelegramAdapter(BaseAdapter):
    kind = "telegram"
    SETTINGS = (
        Setting("secret_token", "the secret_token given to setWebhook (Telegram sends it in "
                "X-Telegram-Bot-Api-Secret-Token)", secret=True),
        Setting("bot_token", "the bot's token from @BotFather, for sending", secret=True),
        Setting("api_base", "Bot API base URL", required=False, default=API, url=True),
    )
    limit = 4096
    measure = staticmethod(count_utf16_units)

    @property
    def bot_id(self) -> str:
        """Our bot's user id: the part of its token before the colon."""
        prefix = str(self.settings.get("bot_token") or "").partition(":")[0]
        return prefix if prefix.isdigit() else ""

    # ---- inbound ------------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        expected = str(self.settings.get("secret_token") or "")
        if not expected:
            raise SignatureError("channel has no secret_token configured")
        offered = header(request, "X-Telegram-Bot-Api-Secret-Token")
        if not offered:
            raise SignatureError("missing X-Telegram-Bot-Api-Secret-Token")
        if not hmac.compare_digest(offered.encode(), expected.encode()):
            raise SignatureError("secret token does not match")

    def parse(self, body: bytes) -> list[NormalizedMessage]:
        update = load_json(body)
        if not isinstance(update, dict) or not _is_int(update.get("update_id")):
            raise PayloadError("a Telegram update is an object with an integer update_id")
        if isinstance(update.get("message"), dict):
            return [self._message(update["message"], edited=False)]
        if isinstance(update.get("edited_message"), dict):
            return [self._message(update["edited_message"], edited=True)]
        kinds = [key for key in update if key != "update_id"]
        if not kinds:
            raise PayloadError("the update carries nothing")
        content = update[kinds[0]] if isinstance(update[kinds[0]], dict) else {}
        text = content.get("text") or content.get("caption") or content.get("query") \
            or content.get("data") or ""
        return [NormalizedMessage(
            kind=OTHER, external_id=f"update:{update['update_id']}", author=None,
            sent_at=timestamp(content.get("date")), text=str(text),
            extra={"update": kinds[0][:40]})]

    def _message(self, message: dict[str, Any], edited: bool) -> NormalizedMessage:
        chat = message.get("chat")
        if not isinstance(chat, dict) or not _is_int(chat.get("id")) \
                or not _is_int(message.get("message_id")):
            raise PayloadError("a Telegram message needs chat.id and message_id")
        chat_id, message_id = str(chat["id"]), message["message_id"]
        author = self._author(message, chat)
        # A private chat is one customer; in a group each member's messages are their own.
        conversation = chat_id if chat.get("type") == "private" \
            else f"{chat_id}:{author.external_id}"
        text = _with_links(str(message.get("text") or message.get("caption") or ""),
                           message.get("entities") or message.get("caption_entities"))
        media = _media(message)
        extra = {"message_thread_id": message["message_thread_id"]} \
            if message.get("is_topic_message") and _is_int(message.get("message_thread_id")) \
            else {}
        url = f"https://t.me/{chat['username']}/{message_id}" \
            if chat.get("username") and chat.get("type") in ("supergroup", "channel") else None
        own_id = f"{chat_id}:{message_id}"
        common = {"author": author, "text": text, "media": media, "conversation": conversation,
                  "url": url, "extra": extra}
        if edited:
            return NormalizedMessage(
                kind=EDIT, external_id=f"edit:{own_id}:{message.get('edit_date', '')}",
                sent_at=timestamp(message.get("edit_date") or message.get("date")),
                reply_to=own_id, **common)
        if author.is_brand:
            return NormalizedMessage(kind=ECHO, external_id=own_id, reply_to=own_id,
                                     sent_at=timestamp(message.get("date")), **common)
        quoted = message.get("reply_to_message")
        # Replies are within the chat (a quote from elsewhere comes as `external_reply`).
        reply_to = f"{chat_id}:{quoted['message_id']}" \
            if isinstance(quoted, dict) and _is_int(quoted.get("message_id")) else None
        bare_command = not media and bool(COMMAND_RE.match(text.strip()))
        return NormalizedMessage(
            kind=OTHER if bare_command or not (text or media) else MESSAGE,
            external_id=own_id, sent_at=timestamp(message.get("date")), reply_to=reply_to,
            **common)

    def _author(self, message: dict[str, Any], chat: dict[str, Any]) -> Author:
        # Anonymous group admins and channels speak as a chat (sender_chat), not a user.
        person = message.get("sender_chat") or message.get("from") or chat
        if not isinstance(person, dict) or not _is_int(person.get("id")):
            raise PayloadError("a Telegram message needs a sender")
        name = " ".join(str(person[key]) for key in ("first_name", "last_name")
                        if person.get(key)) or str(person.get("title") or "")
        user_id = str(person["id"])
        return Author(user_id, str(person.get("username") or ""), name,
                      is_brand=bool(self.bot_id) and user_id == self.bot_id)

    # ---- outbound -----------------------------------------------------------------------------

    def send(self, reply: Reply) -> str:
        # Our ids are "<chat id>:<message id>": the chat to answer in, and the message to quote.
        chat, _, quoted = reply.in_reply_to.rpartition(":")
        chat = chat or reply.conversation.partition(":")[0]
        payload: dict[str, Any] = {"chat_id": int(chat) if _digits(chat) else chat,
                                   "text": reply.text}
        if _digits(quoted):
            # Still delivered if the customer has deleted the message in the meantime.
            payload["reply_parameters"] = {"message_id": int(quoted),
                                           "allow_sending_without_reply": True}
        if reply.extra.get("message_thread_id"):
            payload["message_thread_id"] = reply.extra["message_thread_id"]
        result = self._post("sendMessage", payload)
        if not isinstance(result, dict) or not _is_int(result.get("message_id")):
            raise unexpected_answer("Telegram", result)
        sent_in = (result.get("chat") or {}).get("id", chat)
        return f"{sent_in}:{result['message_id']}"

    def _post(self, method: str, payload: dict[str, Any]) -> Any:
        """One Bot API call; its `result`. Errors never carry the token (it is in the URL)."""
        token = self.setting("bot_token")
        try:
            answer = self.call("POST", f"{self.api_base}/bot{token}/{method}", json=payload)
        except SendError as exc:
            raise SendError(_redact(str(exc), token), permanent=exc.permanent,
                            retry_after=exc.retry_after) from None
        except SendUncertain as exc:
            raise SendUncertain(_redact(str(exc), token)) from None
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise _error(answer if isinstance(answer, dict) else {}, permanent=True)
        return answer.get("result")

    def refine_error(self, response: Response, error: SendError) -> SendError:
        """Telegram's hints are in the body: `parameters.retry_after` on 429 (no header)."""
        try:
            answer = response.json()
        except ValueError:
            return error
        if not isinstance(answer, dict):
            return error
        refined = _error(answer, permanent=error.permanent)
        return SendError(str(refined), permanent=refined.permanent,
                         retry_after=refined.retry_after or error.retry_after)


def _error(answer: dict[str, Any], permanent: bool) -> SendError:
    code = answer.get("error_code")
    parameters = answer.get("parameters") if isinstance(answer.get("parameters"), dict) else {}
    wait = parameters.get("retry_after")
    wait = float(wait) if isinstance(wait, (int, float)) and not isinstance(wait, bool) else None
    transient = wait is not None or code == 429 or (_is_int(code) and code >= 500)
    # The Bot API's own one-line description ("Forbidden: bot was blocked by the user"), never
    # the rest of the answer.
    description = answer.get("description")
    message = f"Telegram error {code if _is_int(code) else '(no code)'}" + (
        f": {description[:200]}" if isinstance(description, str) and description else "")
    if _is_int(parameters.get("migrate_to_chat_id")):
        message += f" (the group is now chat {parameters['migrate_to_chat_id']})"
    return SendError(message, permanent=permanent and not transient, retry_after=wait)


def _with_links(text: str, entities: Any) -> str:
    """The text with each hidden link (`text_link`) written out after its words.

    Offsets and lengths count UTF-16 code units, so the text is cut in UTF-16.
    """
    links = sorted((e for e in (entities if isinstance(entities, list) else [])
                    if isinstance(e, dict) and e.get("type") == "text_link"
                    and _is_int(e.get("offset")) and _is_int(e.get("length"))
                    and str(e.get("url") or "").startswith(("http://", "https://"))),
                   key=lambda e: e["offset"])
    if not links:
        return text
    units = text.encode("utf-16-le", "surrogatepass")
    parts, position = [], 0
    for entity in links:
        start, end = 2 * entity["offset"], 2 * (entity["offset"] + entity["length"])
        if start < position or end > len(units) or end <= start:
            continue  # overlapping or out of range: leave the text as it is
        parts += [units[position:end].decode("utf-16-le", "replace"), f" ({entity['url']})"]
        position = end
    parts.append(units[position:].decode("utf-16-le", "replace"))
    return "".join(parts)


def _media(message: dict[str, Any]) -> tuple[dict[str, str], ...]:
    found = []
    for kind in MEDIA_TYPES:
        part = message.get(kind)
        if kind == "photo" and isinstance(part, list):  # sizes, smallest first
            part = next((p for p in reversed(part) if isinstance(p, dict)), None)
        if isinstance(part, dict) and part.get("file_id"):
            item = {"type": kind, "url": f"tg-file:{part['file_id']}"}
            name = part.get("file_name") or part.get("title")
            if name:
                item["name"] = str(name)
            found.append(item)
    return tuple(found)


def _redact(message: str, token: str) -> str:
    return message.replace(token, "<bot-token>") if token else message


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _digits(value: str) -> bool:
    return value.lstrip("-").isdigit()
