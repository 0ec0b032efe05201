"""What the adapters share: settings access, HMAC checks, one HTTP call with error mapping."""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, LocationValueError, NewConnectionError, SSLError

from community.bridge import (
    PayloadError,
    Reply,
    SendError,
    SendUncertain,
    Setting,
    SignatureError,
    WebhookRequest,
)
from community.bridge.text import count_chars
from community.outbound import CHECKED_POOLS, RefusedTarget, require_http

log = logging.getLogger(__name__)
TIMEOUT = urllib3.Timeout(connect=5.0, read=10.0)
CONNECTIONS_PER_HOST = 4  # kept open to each channel's API (the outbox sends one at a time)


@dataclass(frozen=True)
class Response:
    """A channel API's answer, read whole."""
    status_code: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def _pool(private_targets: bool = False) -> urllib3.PoolManager:
    """This process's connections to the channels' APIs, kept open between calls (a new client
    and connection per reply cost about as much as the rest of a reply to a local API). Keyed by
    process, so a forked worker never shares a parent's sockets. urllib3 rather than httpx: a
    call costs half the CPU, and the server sends a reply for every message it takes in.
    Connections go to public addresses only (community.outbound) unless `private_targets`."""
    return _process_pool(os.getpid(), private_targets)


@cache
def _process_pool(pid: int, private_targets: bool) -> urllib3.PoolManager:
    # retries=False: a request is sent once, whatever happens (the outbox decides what next);
    # it also leaves redirects unfollowed (a redirect cannot lead past the address check).
    pool = urllib3.PoolManager(retries=False, timeout=TIMEOUT, maxsize=CONNECTIONS_PER_HOST)
    if not private_targets:
        pool.pool_classes_by_scheme = CHECKED_POOLS
    atexit.register(pool.clear)
    return pool


class BaseAdapter:
    kind = ""
    SETTINGS: tuple[Setting, ...] = ()
    limit = 4096
    measure = staticmethod(count_chars)
    reply_window: timedelta | None = None
    idempotent = False
    can_look_up = False
    joins_conversation = "open"
    ages_out = False

    def __init__(self, settings: Mapping[str, Any], cursor: Mapping[str, Any], *,
                 private_targets: bool = False) -> None:
        self.settings = dict(settings)
        self.cursor = dict(cursor)
        # WEBHOOKS_ALLOW_PRIVATE_TARGETS: may this adapter connect to non-public addresses?
        self.private_targets = private_targets

    def setting(self, name: str) -> str:
        value = self.settings.get(name)
        if value in (None, ""):
            for spec in self.SETTINGS:
                if spec.name == name and spec.default is not None:
                    return spec.default
            raise SendError(f"channel setting {name!r} is missing", permanent=True)
        return str(value)

    @property
    def api_base(self) -> str:
        return self.setting("api_base").rstrip("/")

    # ---- inbound --------------------------------------------------------------------------

    def verify(self, request: WebhookRequest) -> None:
        raise NotImplementedError

    def handshake(self, args: Mapping[str, str]) -> str | None:
        """Answer a subscription check (GET); None when this is not one or it does not match."""
        return None

    # ---- outbound -------------------------------------------------------------------------

    def lookup(self, reply: Reply) -> str | None:
        """Find a reply already posted (after a crash): its id, None if absent.

        Only called when `can_look_up`; raises SendError/SendUncertain when the channel can't
        be asked right now.
        """
        raise NotImplementedError

    def refine_error(self, response: Response, error: SendError) -> SendError:
        """A channel's own reading of an error answer (error codes and retry hints in the body);
        by default the HTTP status alone decides."""
        return error

    def call(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
             json: Any = None, content: bytes | None = None,
             headers: Mapping[str, str] | None = None) -> Any:
        """One API call; the JSON answer, or SendError / SendUncertain with the provider's hints.
        `params` go in the query string, `json` (or raw `content`) is the body."""
        headers = dict(headers or {})
        if json is not None:
            content = _json_body(json)
            headers.setdefault("Content-Type", "application/json")
        target = f"{url}{'&' if '?' in url else '?'}{urlencode(params, doseq=True)}" \
            if params else url
        try:
            require_http(url)
            answer = _pool(self.private_targets).request(method, target, body=content,
                                                         headers=headers)
        except RefusedTarget as exc:  # nothing was sent; the setting must change
            raise SendError(f"refused to request {url}: {exc}", permanent=True) from None
        except (NewConnectionError, ConnectTimeoutError, SSLError, LocationValueError) as exc:
            raise SendError(f"could not reach {url}: {exc}") from exc  # nothing was sent
        except urllib3.exceptions.HTTPError as exc:
            raise SendUncertain(f"no answer from {url}: {exc!r}") from exc
        response = Response(answer.status, answer.headers, answer.data)
        if response.status_code >= 400:
            # Staff see a summary; what the channel said goes to the server log only.
            log.warning("%s %s to %s answered HTTP %s: %.10000s", self.kind, method,
                        _host(url), response.status_code, response.text)
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise self.refine_error(response, SendError(_describe(response, url),
                                                        retry_after=retry_after(response)))
        if response.status_code >= 400:
            raise self.refine_error(response, SendError(_describe(response, url),
                                                        permanent=True))
        try:
            return response.json()
        except ValueError:
            return {}


def _json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class PolledAdapter(BaseAdapter):
    """A channel we fetch from on a schedule (it has no webhook of its own)."""

    @property
    def poll_seconds(self) -> float:
        return number(self.settings.get("poll_seconds"), 60.0)

    def verify(self, request: WebhookRequest) -> None:
        raise SignatureError(f"{self.kind} channels are polled; they take no webhook deliveries")


def load_json(body: bytes) -> Any:
    """A delivery's JSON, or PayloadError: also for NaN and Infinity (Python reads them, JSON has
    no such numbers) and for nesting deeper than the decoder goes (RecursionError)."""
    try:
        return json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"body is not JSON: {str(exc)[:200]}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects in a JSON list (anything else in it, or a non-list, gives nothing)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def number(value: Any, default: float) -> float:
    """A positive number from a setting, or the default."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if result > 0 else default


_MEDIA_TYPE = re.compile(r"[\w.+-]{1,40}/[\w.+-]{1,60}")


def _describe(response: Response, url: str) -> str:
    """What staff see of an error answer: "HTTP 502 from api.example.com, 1.2 kB of text/html".
    Never the body: it is the other side's text (and whatever an API echoes back)."""
    size = len(response.content)
    amount = "no body" if not size else f"{size} B" if size < 1000 else \
        f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"
    media = (response.headers.get("content-type") or "").partition(";")[0].strip().lower()
    if size and _MEDIA_TYPE.fullmatch(media):
        amount += f" of {media}"
    return f"HTTP {response.status_code} from {_host(url)}, {amount}"


def _host(url: str) -> str:
    """The host (and port) a URL names: safe to show, unlike its path or query (tokens)."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        return "an unreadable address"


def unexpected_answer(service: str, answer: Any) -> SendUncertain:
    """A 2xx answer without what a send returns: logged whole, summed up for staff."""
    log.warning("unexpected answer from %s: %.10000r", service, answer)
    return SendUncertain(f"unexpected answer from {service} (no message id; the server log "
                         "has it)")


def retry_after(response: Response) -> float | None:
    """Seconds to wait, from Retry-After (seconds or a date) or a rate-limit reset header."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                when = parsedate_to_datetime(header)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("x-rate-limit-reset") or response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            try:
                return max(0.0, (datetime.fromisoformat(reset) -
                                 datetime.now(UTC)).total_seconds())
            except ValueError:
                return None
        # Epoch seconds (X) or seconds from now (some APIs): anything before 2001 is a delta.
        return max(0.0, value - time.time()) if value > 1e9 else value
    return None


def hmac_sha256(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def require_signature(expected_hex: str, header: str | None, prefix: str = "sha256=") -> None:
    """Compare `prefix + expected_hex` with the header in constant time."""
    if not header:
        raise SignatureError("missing signature")
    if not hmac.compare_digest(header.strip().lower().encode(), (prefix + expected_hex).encode()):
        raise SignatureError("signature does not match")


def header(request: WebhookRequest, name: str) -> str | None:
    for key, value in request.headers.items():
        if key.lower() == name.lower():
            return value
    return None


def timestamp(value: Any) -> datetime:
    """Epoch seconds, epoch milliseconds or an ISO 8601 string, as an aware UTC datetime."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isascii()
                                           and value.strip().isdigit()):
        try:
            number = float(value)
            if number > 1e11:  # milliseconds
                number /= 1000
            return datetime.fromtimestamp(number, UTC)
        except (ValueError, OverflowError, OSError):  # NaN, or before year 1 or after 9999
            raise PayloadError(f"timestamp out of range {str(value)[:40]!r}") from None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise PayloadError(f"unreadable timestamp {value[:40]!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return datetime.now(UTC)


# ---- Meta (WhatsApp, Messenger, Instagram) webhooks share these two checks -----------------

def verify_hub_signature(request: WebhookRequest, app_secret: str | None) -> None:
    """X-Hub-Signature-256: sha256= + HMAC-SHA256 of the raw body with the app secret."""
    if not app_secret:
        raise SignatureError("channel has no app_secret configured")
    require_signature(hmac_sha256(app_secret, request.body), header(request, "X-Hub-Signature-256"))


def graph_error(response: Response) -> dict[str, Any]:
    """The `error` object of a Graph API answer, {} when it has none."""
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return detail if isinstance(detail, dict) else {}


def graph_error_codes(detail: Mapping[str, Any]) -> str:
    """" (Graph API error 10/2018278)": the numbers staff look up, never the message's text."""
    codes = [str(detail[key]) for key in ("code", "error_subcode")
             if isinstance(detail.get(key), int) and not isinstance(detail.get(key), bool)]
    return f" (Graph API error {'/'.join(codes)})" if codes else ""


def hub_handshake(args: Mapping[str, str], verify_token: str | None) -> str | None:
    """The GET subscription check: echo hub.challenge when hub.verify_token is ours."""
    if args.get("hub.mode") != "subscribe" or not verify_token:
        return None
    offered = args.get("hub.verify_token", "")
    if not hmac.compare_digest(offered.encode(), verify_token.encode()):
        return None
    return args.get("hub.challenge", "")
