"""Mastodon: mention (and edit) notifications polled, `POST /api/v1/statuses` replies out.

Statuses are HTML: mention links are reduced to their `@name` text, the rest to plain text, and
the `@names` a reply starts with are dropped from the post body. Replies mention the customer
(`@acct`), answer their status, never with a wider visibility than theirs, and carry an
`Idempotency-Key`, which Mastodon honours for an hour: a send a crash interrupted can simply be
sent again. Deletions are not notified to the REST API, so they are not bridged.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from community.bridge import (
    EDIT,
    MESSAGE,
    Author,
    NormalizedMessage,
    PayloadError,
    PollResult,
    Reply,
    SendError,
    Setting,
)
from community.bridge.base import (PolledAdapter, dicts, load_json, number, timestamp,
                                   unexpected_answer)
from community.bridge.text import URL_RE, fit, links_as_23, plain_text

PAGE_SIZE = 40
MAX_PAGES = 10
# The reply's visibility for each visibility of the customer's status: never wider; a public
# complaint is answered unlisted, out of the public timelines.
VISIBILITY = {"public": "unlisted", "unlisted": "unlisted", "private": "private",
              "direct": "direct"}
_MENTION_LINK = re.compile(
    r"<a\s[^>]*class=\"[^\"]*\bmention\b[^\"]*\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_ANY_LINK = re.compile(r"<a\s[^>]*>.*?</a>", re.IGNORECASE | re.DOTALL)
_LINKED = re.compile(r"https?://\S+|[@#][\w.@-]+")
LEADING_MENTIONS = re.compile(r"^(?:\s*@[\w.-]+(?:@[\w.-]+)?(?=\s|$))+\s*")


class MastodonAdapter(PolledAdapter):
    kind = "mastodon"
    SETTINGS = (
        Setting("api_base", "the instance's address, e.g. https://mastodon.social", url=True),
        Setting("access_token", "access token of our account with read:notifications and "
                "write:statuses", secret=True),
        Setting("account_id", "our account's id on the instance"),
        Setting("char_limit", "the instance's status length limit", required=False,
                default="500"),
        Setting("poll_seconds", "seconds between polls", required=False, default="60"),
    )
    measure = staticmethod(links_as_23)
    # Mastodon keeps Idempotency-Key for an hour: resending after a crash cannot post twice.
    idempotent = True
    # A crash older than that is settled by finding our reply among the status's replies.
    can_look_up = True
    # Mentions carry no conversation id: a reply to a status we do not know joins the thread of
    # other replies to that same status (`conversation` is what it replies to).
    joins_conversation = "always"

    def __init__(self, settings: Mapping[str, Any], cursor: Mapping[str, Any],
                 **options: Any) -> None:
        super().__init__(settings, cursor, **options)
        self.limit = int(number(self.settings.get("char_limit"), 500))

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.setting('access_token')}"}

    # ---- inbound ------------------------------------------------------------------------------

    def parse(self, body: bytes) -> list[NormalizedMessage]:
        """Normalise one stored notifications answer (a JSON list, newest first)."""
        document = load_json(body)
        if not isinstance(document, list):
            raise PayloadError("expected a list of notifications")
        return self._notifications(document)

    def poll(self) -> PollResult:
        """Mention and edit notifications since the cursor, oldest first.

        Mastodon answers newest first, at most PAGE_SIZE at a time; older pages are fetched
        with max_id (still bounded by since_id) until one comes back short. A first poll takes
        only the newest page. A failing page raises and keeps nothing (see x.py).
        """
        since = self.cursor.get("since_id")
        params: dict[str, Any] = {"types[]": ["mention", "update"], "limit": PAGE_SIZE}
        if since:
            params["since_id"] = since
        pages: list[Any] = []
        for _ in range(MAX_PAGES if since else 1):
            page = self.call("GET", f"{self.api_base}/api/v1/notifications", params=params,
                             headers=self._headers())
            if not isinstance(page, list):
                raise SendError("Mastodon answered something that is not a notification list")
            pages.append(page)
            ids = [str(n.get("id")) for n in page if isinstance(n, dict) and n.get("id")]
            if len(page) < PAGE_SIZE or not ids:
                break
            params["max_id"] = ids[-1]
        notifications = [n for page in pages for n in page]
        try:
            messages = self._notifications(notifications)
        except PayloadError as exc:
            raise SendError(f"unreadable notifications from Mastodon: {exc}") from None
        cursor = dict(self.cursor)
        newest = next((str(n["id"]) for n in notifications
                       if isinstance(n, dict) and n.get("id")), None)
        if newest:
            cursor["since_id"] = newest
        cursor["polled_at"] = time.time()
        return PollResult(messages, json.dumps(notifications, ensure_ascii=False), cursor)

    def _notifications(self, notifications: list[Any]) -> list[NormalizedMessage]:
        found: dict[str, NormalizedMessage] = {}
        for notification in reversed(notifications):  # oldest first
            if not isinstance(notification, dict):
                raise PayloadError("a notification is not an object")
            status = notification.get("status")
            kind = notification.get("type")
            if kind not in ("mention", "update") or not isinstance(status, dict):
                continue
            message = self._status(status, edit=kind == "update")
            found.setdefault(message.external_id, message)
        return list(found.values())

    def _status(self, status: Mapping[str, Any], edit: bool) -> NormalizedMessage:
        status_id = str(status.get("id") or "")
        account = status.get("account")
        if not status_id or not isinstance(account, dict) or not account.get("id"):
            raise PayloadError("a status needs an id and an account")
        account_id = str(account["id"])
        text = _status_text(status)
        media = tuple({"url": str(item.get("url") or item.get("remote_url")),
                       "type": str(item.get("type") or "file")}
                      for item in dicts(status.get("media_attachments"))
                      if item.get("url") or item.get("remote_url"))
        reply_to = str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None
        author = Author(account_id, str(account.get("acct") or account.get("username") or ""),
                        str(account.get("display_name") or ""),
                        is_brand=account_id == str(self.settings.get("account_id") or ""))
        extra = {"visibility": str(status.get("visibility") or "")}
        if edit:
            # An edit gets an id of its own; it acts on the original status.
            stamp = status.get("edited_at") or status.get("created_at") or ""
            return NormalizedMessage(
                kind=EDIT, external_id=f"edit:{status_id}:{stamp}", author=author,
                sent_at=timestamp(status.get("edited_at") or status.get("created_at")),
                text=text, media=media, conversation=reply_to or status_id,
                reply_to=status_id, url=status.get("url") or status.get("uri"), extra=extra)
        return NormalizedMessage(
            kind=MESSAGE, external_id=status_id, author=author,
            sent_at=timestamp(status.get("created_at")), text=text, media=media,
            conversation=reply_to or status_id, reply_to=reply_to,
            url=status.get("url") or status.get("uri"), extra=extra)

    # ---- outbound -----------------------------------------------------------------------------

    def send(self, reply: Reply) -> str:
        """Reply to the customer's status, mentioning them, no more visible than theirs."""
        status, visibility = self._outgoing(reply)
        answer = self.call(
            "POST", f"{self.api_base}/api/v1/statuses",
            headers={**self._headers(), "Idempotency-Key": reply.idempotency_key},
            json={"status": status, "in_reply_to_id": reply.in_reply_to,
                  "visibility": visibility})
        if not isinstance(answer, dict) or not answer.get("id"):
            raise unexpected_answer("Mastodon", answer)
        return str(answer["id"])

    def lookup(self, reply: Reply) -> str | None:
        """Our status among the replies to the customer's, with this text (links aside).

        Mastodon forgets an Idempotency-Key after an hour; asking first means a worker that was
        down longer than that still cannot post twice.
        """
        context = self.call("GET", f"{self.api_base}/api/v1/statuses/{reply.in_reply_to}/context",
                            headers=self._headers())
        ours = str(self.settings.get("account_id") or "")
        wanted = _comparable(self._outgoing(reply)[0])
        for status in dicts(context.get("descendants") if isinstance(context, dict) else None):
            account = status.get("account") if isinstance(status.get("account"), dict) else {}
            if str(account.get("id")) == ours and \
                    str(status.get("in_reply_to_id")) == reply.in_reply_to and \
                    _comparable(_without_links(str(status.get("content") or ""))) == wanted:
                return str(status["id"])
        return None

    def _outgoing(self, reply: Reply) -> tuple[str, str]:
        """The status text (`@acct ` first, within the limit) and its visibility."""
        prefix = f"@{reply.handle} " if reply.handle else ""
        text = reply.text
        if links_as_23(prefix + text) > self.limit:
            # The fitted text left no room for the mention: fit it again, keeping the link.
            body, _, last = text.rpartition("\n")
            link = last.strip() if body and URL_RE.fullmatch(last.strip()) else None
            text = fit(body if link else text, self.limit - len(prefix), links_as_23, link=link)
        return prefix + text, VISIBILITY.get(str(reply.extra.get("visibility") or ""), "direct")


def _status_text(status: Mapping[str, Any]) -> str:
    """A status's HTML as plain text: mention links as their @name, leading @names dropped,
    a content warning kept in front."""
    content = _MENTION_LINK.sub(lambda m: _TAG.sub("", m.group(1)), str(status.get("content") or ""))
    text = LEADING_MENTIONS.sub("", plain_text(content)).strip()
    warning = str(status.get("spoiler_text") or "").strip()
    return f"{warning}\n\n{text}".strip() if warning else text


def _without_links(content: str) -> str:
    """A status's HTML as plain text with every link (mentions, URLs) left out."""
    return plain_text(_ANY_LINK.sub("", content))


def _comparable(text: str) -> str:
    """Words only: what Mastodon turns into links (URLs, @names, #tags) and spacing aside."""
    return " ".join(_LINKED.sub(" ", text).split())




