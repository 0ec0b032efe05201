"""X (Twitter) API v2: mentions and our own replies polled, `POST /2/tweets` replies out.

X has no webhook for our plan, so the worker polls two timelines every `poll_seconds`:
`GET /2/users/{id}/mentions` (customers writing to us) and `GET /2/users/{id}/tweets` (our own
account, so replies staff post natively on X are recorded and our own sends are seen as echoes).
Each keeps its own `since_id`. Text arrives HTML-escaped (`&amp;`) with links shortened to
t.co; both are undone here, and the `@handles` X puts in front of every reply are dropped from
the post body. Deleted tweets cannot be seen in these timelines, so deletions are not bridged.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from community.bridge import (
    MESSAGE,
    OTHER,
    Author,
    NormalizedMessage,
    PayloadError,
    PollResult,
    Reply,
    SendError,
    Setting,
)
from community.bridge.base import PolledAdapter, dicts, load_json, timestamp, unexpected_answer
from community.bridge.text import URL_RE, x_weighted_length

API = "https://api.x.com"
TWEET_FIELDS = "author_id,conversation_id,created_at,in_reply_to_user_id,referenced_tweets,entities"
PAGE_SIZE = 100
# A busy account's backlog is fetched over several rounds rather than in one long poll.
MAX_PAGES = 10
# How far back `lookup` searches our own timeline for a reply a crash left unrecorded.
LOOKUP_PAGES = 3
LEADING_MENTIONS = re.compile(r"^(?:\s*@\w{1,15}(?=\s|$))+\s*")


class XAdapter(PolledAdapter):
    kind = "x"
    SETTINGS = (
        Setting("access_token", "OAuth 2.0 user-context token of our account with the scopes "
                "tweet.read, tweet.write and users.read (sends replies)", secret=True),
        Setting("user_id", "our account's numeric user id"),
        Setting("bearer_token", "token for reading timelines (app-only bearer token); "
                "defaults to access_token", secret=True, required=False),
        Setting("api_base", "X API base URL", required=False, default=API, url=True),
        Setting("poll_seconds", "seconds between polls", required=False, default="60"),
    )
    limit = 280
    measure = staticmethod(x_weighted_length)
    # A crash mid-send is settled by searching our own timeline for the reply.
    can_look_up = True
    # Every tweet carries its conversation_id: the same public conversation is the same thread.
    joins_conversation = "always"

    def _read_headers(self) -> dict[str, str]:
        token = self.settings.get("bearer_token") or self.setting("access_token")
        return {"Authorization": f"Bearer {token}"}

    # ---- inbound ------------------------------------------------------------------------------

    def parse(self, body: bytes) -> list[NormalizedMessage]:
        """Normalise one stored timeline answer (`{"data": [...], "includes": {...}}`)."""
        document = load_json(body)
        if not isinstance(document, dict):
            raise PayloadError("expected an X API v2 answer object")
        return self._page(document)

    def poll(self) -> PollResult:
        """New mentions and new tweets of ours since the cursor, oldest first.

        A first poll (no cursor) takes only the newest page of each timeline instead of the
        account's whole history. A failing page raises (SendError) and nothing is kept, so the
        next poll starts again from the same cursor: pages come newest first, and keeping the
        newest without the older ones would skip those for good.
        """
        user = self.setting("user_id")
        cursor = dict(self.cursor)
        pages: dict[str, list[Any]] = {}
        messages: dict[str, NormalizedMessage] = {}
        for name, path, key in (("mentions", f"/2/users/{user}/mentions", "since_id"),
                                ("own", f"/2/users/{user}/tweets", "own_since_id")):
            since = cursor.get(key)
            fetched, newest = self._timeline(path, since)
            pages[name] = fetched
            for page in fetched:
                try:
                    found = self._page(page, own=name == "own")
                except PayloadError as exc:
                    raise SendError(f"unreadable {name} timeline from X: {exc}") from None
                for message in found:
                    messages.setdefault(message.external_id, message)
            if newest:
                cursor[key] = newest
        cursor["polled_at"] = time.time()
        ordered = sorted(messages.values(), key=lambda m: _order(m.external_id))
        return PollResult(ordered, json.dumps(pages, ensure_ascii=False), cursor)

    def _timeline(self, path: str, since: str | None,
                  extra: Mapping[str, str] | None = None) -> tuple[list[Any], str | None]:
        params: dict[str, Any] = {"max_results": PAGE_SIZE, "tweet.fields": TWEET_FIELDS,
                                  "expansions": "author_id", "user.fields": "username,name",
                                  **(extra or {})}
        if since:
            params["since_id"] = since
        pages, newest = [], None
        for _ in range(MAX_PAGES if since else 1):
            page = self.call("GET", self.api_base + path, params=params,
                             headers=self._read_headers())
            if not isinstance(page, dict):
                raise SendError("X answered something that is not a timeline")
            pages.append(page)
            meta = page.get("meta") if isinstance(page.get("meta"), dict) else {}
            newest = newest or meta.get("newest_id")
            if not meta.get("next_token"):
                break
            params["pagination_token"] = meta["next_token"]
        return pages, (str(newest) if newest else None)

    def _page(self, page: Mapping[str, Any], own: bool = False) -> list[NormalizedMessage]:
        includes = page.get("includes") if isinstance(page.get("includes"), dict) else {}
        users = {str(u.get("id")): u for u in dicts(includes.get("users"))}
        found = []
        for tweet in dicts(page.get("data")):
            if not tweet.get("id"):
                raise PayloadError("a tweet without an id")
            message = self._tweet(tweet, users)
            # Of our own timeline only replies matter (echoes and native staff replies).
            if own and message.reply_to is None:
                continue
            found.append(message)
        return found

    def _tweet(self, tweet: Mapping[str, Any], users: Mapping[str, Any]) -> NormalizedMessage:
        tweet_id = str(tweet["id"])
        author_id = str(tweet.get("author_id") or "")
        user = users.get(author_id) or {}
        handle = str(user.get("username") or "")
        references = {str(r.get("type")): str(r.get("id"))
                      for r in dicts(tweet.get("referenced_tweets")) if r.get("id")}
        text, media = _text_and_media(tweet)
        # A retweet only repeats someone else's words; a tweet without author_id (an answer
        # that was not asked for tweet.fields) cannot be answered.
        kind = MESSAGE if author_id and "retweeted" not in references else OTHER
        return NormalizedMessage(
            kind=kind, external_id=tweet_id,
            author=Author(author_id, handle, str(user.get("name") or ""),
                          is_brand=author_id == str(self.settings.get("user_id") or ""))
            if author_id else None,
            sent_at=timestamp(tweet.get("created_at")),
            text=text, media=media,
            conversation=str(tweet.get("conversation_id") or tweet_id),
            reply_to=references.get("replied_to"),
            url=f"https://x.com/{handle or 'i/web'}/status/{tweet_id}")

    # ---- outbound -----------------------------------------------------------------------------

    def send(self, reply: Reply) -> str:
        """Post the reply under the customer's tweet. Needs the user-context access token."""
        answer = self.call(
            "POST", f"{self.api_base}/2/tweets",
            headers={"Authorization": f"Bearer {self.setting('access_token')}"},
            json={"text": reply.text, "reply": {"in_reply_to_tweet_id": reply.in_reply_to}})
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise unexpected_answer("X", answer)
        return str(data["id"])

    def lookup(self, reply: Reply) -> str | None:
        """Our tweet replying to `in_reply_to` with this text, among our recent tweets."""
        path = f"/2/users/{self.setting('user_id')}/tweets"
        params: dict[str, Any] = {"max_results": PAGE_SIZE, "tweet.fields": TWEET_FIELDS,
                                  "exclude": "retweets"}
        wanted = _comparable(reply.text)
        for _ in range(LOOKUP_PAGES):
            page = self.call("GET", self.api_base + path, params=params,
                             headers=self._read_headers())
            for tweet in dicts(page.get("data") if isinstance(page, dict) else None):
                replied = {str(r.get("id")) for r in dicts(tweet.get("referenced_tweets"))
                           if r.get("type") == "replied_to"}
                if reply.in_reply_to in replied and \
                        _comparable(_text_and_media(tweet)[0]) == wanted:
                    return str(tweet["id"])
            token = ((page.get("meta") or {}) if isinstance(page, dict) else {}).get("next_token")
            if not token:
                break
            params["pagination_token"] = token
        return None


def _text_and_media(tweet: Mapping[str, Any]) -> tuple[str, tuple[Mapping[str, str], ...]]:
    """The tweet's words: unescaped, t.co links expanded (media links become media), and the
    reply's leading @handles dropped."""
    text = html.unescape(str(tweet.get("text") or ""))
    media = []
    entities = tweet.get("entities") if isinstance(tweet.get("entities"), dict) else {}
    for link in dicts(entities.get("urls")):
        short, expanded = str(link.get("url") or ""), str(link.get("expanded_url") or "")
        if not short or not expanded.startswith(("http://", "https://")):
            continue
        if link.get("media_key"):
            text = text.replace(short, "")
            media.append({"url": expanded, "type": "media"})
        else:
            text = text.replace(short, expanded)
    return LEADING_MENTIONS.sub("", text).strip(), tuple(media)


def _comparable(text: str) -> str:
    """Text as X may echo it back: links (maybe still t.co) and spacing do not count."""
    return " ".join(URL_RE.sub("<link>", LEADING_MENTIONS.sub("", text)).split())


def _order(tweet_id: str) -> tuple[int, str]:
    # Tweet ids are snowflakes: numeric order is time order.
    return (int(tweet_id), "") if tweet_id.isdigit() else (0, tweet_id)




