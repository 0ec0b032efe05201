"""Bad input is a 4xx, never a 500 (issue 14, item 6): search text Whoosh's parser chokes on,
impossible dates and cursors, and poison webhook deliveries, which are refused whole (400) with
nothing stored. Everything goes through HTTP, as a client or a partner would send it.
"""

from __future__ import annotations

import base64
import hmac
import json
import time

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import InboundMessage, Thread
from community.services import threads
from tests.api.contract import assert_error
from community.bridge import generic
from tests.bridge.conftest import SECRET, activity, add_channel, deliver, send

pytestmark = pytest.mark.usefixtures("ctx")

# 5,000 nested brackets: json.loads gives up with RecursionError, not ValueError.
DEEP_CURSOR = base64.urlsafe_b64encode(b"[" * 5000 + b"]" * 5000).decode().rstrip("=")


@pytest.fixture
def searchable(users, indexed):
    """One indexed thread, so a search that should find something can."""
    thread = threads.ask(users.asker, "Roaming stopped working abroad",
                         "My phone shows no network on roaming since Monday.", ["roaming"])
    indexed()
    return thread


# ---- search: text Whoosh's query parser cannot take is searched as plain words --------------

QUERIES = ["~~", "a~", "the~2/1", "http://127.0.0.1:1/x.png", "a~ b~~ ~c", "%FF%FE",
           "ab~/6", "{TO/roaming|(AND}title:%FF"]


@pytest.mark.parametrize("text", QUERIES)
def test_api_search_takes_any_text(client, searchable, text):
    response = client.get("/api/v1/search", query_string={"q": text})

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert isinstance(response.get_json()["items"], list)


@pytest.mark.parametrize("text", QUERIES)
def test_the_search_page_takes_any_text(client, searchable, text):
    assert client.get("/search", query_string={"q": text}).status_code == 200


def test_fuzzy_syntax_still_finds_what_it_means_beside_a_broken_part(client, searchable):
    data = client.get("/api/v1/search", query_string={"q": "roamign~ ~~"}).get_json()
    assert [item["id"] for item in data["items"]] == [searchable.id]


@pytest.mark.parametrize("path", ["/api/v1/search", "/search"])
def test_a_query_string_that_is_not_utf8_is_searched_or_refused(client, searchable, path):
    """%FF%FE decodes to no text at all: Werkzeug keeps it quoted, and it is searched as such."""
    response = client.get(f"{path}?q=%FF%FE&author=%FE")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def test_a_date_filter_on_the_last_day_of_the_calendar_is_no_500(client, searchable):
    """The last day ends at the last representable moment, not one microsecond past it."""
    response = client.get("/api/v1/search", query_string={"q": "roaming", "to": "9999-12-31"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert [item["id"] for item in response.get_json()["items"]] == [searchable.id]
    assert client.get("/search", query_string={"q": "roaming", "to": "9999-12-31"}
                      ).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/search?q=roaming", "/api/v1/threads?",
                                  "/api/v1/search?q=roaming&sort=recent"])
def test_a_deeply_nested_cursor_is_400_in_the_api(client, searchable, path):
    assert_error(client.get(f"{path}&cursor={DEEP_CURSOR}"), 400, "cursor.invalid")


@pytest.mark.parametrize("path", ["/search?q=roaming", "/?", "/tags/roaming?"])
def test_a_deeply_nested_cursor_is_400_on_pages(client, searchable, path):
    response = client.get(f"{path}&cursor={DEEP_CURSOR}")
    assert response.status_code == 400
    assert "cursor" in response.get_data(as_text=True).lower()


# ---- webhooks: refused before the signature check --------------------------------------------

@pytest.fixture
def channel(ctx):
    """A generic partner channel (replies go nowhere: only what is stored matters here)."""
    return add_channel("generic", "partner", secret=SECRET, callback_url="http://127.0.0.1:9/x")


def stored() -> tuple[int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(InboundMessage)),
            db.session.scalar(select(func.count()).select_from(Thread)))


def arabic_indic(number: int) -> str:
    return "".join(chr(0x660 + int(digit)) for digit in str(number))


@pytest.mark.parametrize("stamp", ["²", "¹⁷⁶³⁹⁰⁰⁰⁰⁰", "arabic-indic now", "9" * 5000],
                         ids=["superscript two", "superscript digits", "Arabic-Indic digits",
                              "5,000 digits"])
def test_a_timestamp_header_that_is_no_number_is_401_even_signed(client, channel, stamp):
    """Unix seconds in ASCII digits: isdigit() takes "²" (int() does not), int() takes
    Arabic-Indic digits, and neither takes 5,000 digits."""
    if stamp == "arabic-indic now":
        stamp = arabic_indic(int(time.time()))
    body = json.dumps(activity("My roaming stopped working.")).encode()
    signature = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, "sha256").hexdigest()
    response = deliver(client, "partner", body, {"X-Bridge-Timestamp": stamp,
                                                  "X-Bridge-Signature": "sha256=" + signature})
    assert_error(response, 401, "bridge.signature")
    assert stored() == (0, 0)


# ---- webhooks: signed, but poison inside ------------------------------------------------------

POISON = {
    "timestamp NaN": b'{"type":"message","id":"m1","conversation":"c1","author":{"id":"u1"},'
                     b'"text":"hello there","timestamp":NaN}',
    "timestamp Infinity": b'{"type":"message","id":"m1","conversation":"c1","author":{"id":"u1"},'
                          b'"text":"hello there","timestamp":-Infinity}',
    "timestamp 1e20": activity("hello there", timestamp=1e20),
    "timestamp -1e20": activity("hello there", timestamp=-1e20),
    "timestamp in superscript digits": activity("hello there", timestamp="¹⁷⁶³⁹⁰⁰⁰⁰⁰"),
    "timestamp 40 digits": activity("hello there", timestamp="9" * 40),
    "status a number": {"type": "status", "id": "s1", "target": "m1", "status": 404},
    "status an object": {"type": "status", "id": "s1", "target": "m1", "status": {"x": 1}},
    "error a list": {"type": "status", "id": "s1", "target": "m1", "status": "failed",
                     "error": ["no"]},
    "error a number": {"type": "status", "id": "s1", "target": "m1", "status": "failed",
                       "error": 7},
    "type a list": activity("hello there", type=["message"]),
    "conversation a lone surrogate": activity("hello there", conversation="\ud800"),
    "author.id a lone surrogate": activity("hello there", author="cust-\udfff"),
    "id a lone surrogate": activity("hello there", id="m-\ud800"),
    "in_reply_to a lone surrogate": activity("hello there", in_reply_to="\udc00"),
    "media url a lone surrogate": activity("hello there", media=[{"url": "https://e/\ud800"}]),
    "100,000 nested brackets": b"[" * 100_000 + b"]" * 100_000,
    "100,000 nested objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
}


def signed_send(client, payload):
    if isinstance(payload, bytes):
        return deliver(client, "partner", payload, generic.sign(SECRET, payload))
    return send(client, payload)


@pytest.mark.parametrize("payload", POISON.values(), ids=POISON.keys())
def test_a_poison_delivery_is_refused_whole_and_nothing_is_stored(client, channel, payload):
    # Free text is repaired (U+FFFD), as everywhere else; only identifiers are refused.
    good = activity("My roaming stopped \ud800 working in Spain.", id="good-1")
    poison = payload if isinstance(payload, bytes) else {"activities": [good, payload]}

    response = signed_send(client, poison)

    assert_error(response, 400, "bridge.payload")
    assert stored() == (0, 0)
    # The channel still takes the good activity alone.
    assert signed_send(client, good).status_code == 200
    assert stored() == (1, 1)
    assert "\ufffd working in Spain" in db.session.scalars(select(InboundMessage.text)).one()


def whatsapp(value) -> bytes:
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "changes": [{"field": "messages",
                                                          "value": value}]}]}).encode()


WHATSAPP_TEXT = {"from": "447700900123", "id": "wamid.1", "type": "text",
                 "text": {"body": "My roaming stopped working."}}


@pytest.mark.parametrize("body", [
    whatsapp(1), whatsapp({"metadata": "x", "messages": [WHATSAPP_TEXT]}),
    whatsapp({"contacts": [{"profile": 1.5, "wa_id": "1"}], "messages": [WHATSAPP_TEXT]}),
    whatsapp({"messages": [{**WHATSAPP_TEXT, "context": "x"}]}),
], ids=["value a number", "metadata a string", "profile a number", "context a string"])
def test_a_whatsapp_delivery_in_a_shape_it_never_sends_is_refused(client, ctx, body):
    """Adapters that meet a shape they do not expect refuse the delivery (they crashed)."""
    add_channel("whatsapp", "wa", app_secret=SECRET, verify_token="v", access_token="t",
                phone_number_id="1")
    signature = hmac.new(SECRET.encode(), body, "sha256").hexdigest()
    response = deliver(client, "wa", body, {"X-Hub-Signature-256": "sha256=" + signature})
    assert_error(response, 400, "bridge.payload")
    assert stored() == (0, 0)


# ---- the API: null where the document says boolean ----------------------------------------

def test_a_channel_change_with_enabled_null_is_422_and_changes_nothing(client, channel, users,
                                                                        token_for):
    response = client.patch("/api/v1/bridge/channels/partner", headers=token_for(users.admin),
                            json={"enabled": None, "settings": {"limit": "100"}})

    assert_error(response, 422, "enabled.invalid", "enabled")
    db.session.expire_all()
    assert channel.is_enabled and channel.settings.get("limit") != "100"
