"""Telegram: the real updates through the real webhook, replies to a fake Bot API."""

from __future__ import annotations

import copy
import json
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.bridge.text import count_utf16_units
from community.extensions import db
from community.models import InboundMessage, OutboundMessage, Thread
from community.models.base import utcnow
from community.services.bridge import sending
from tests.bridge.conftest import PAYLOADS, Answer, add_channel, deliver

SECRET = "tg-webhook-secret_0123456789"
TOKEN = "123456789:AAHk-test-bot-token-not-real"
TEAM = Path(__file__).parent / "payloads"
SAMPLES_FILE = "telegram_updates_samples.nonebot.json"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def post(client, update: dict | bytes, secret: str | None = SECRET, slug: str = "tg"):
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return deliver(client, slug, body, {HEADER: secret} if secret is not None else {})


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def latest() -> InboundMessage:
    return db.session.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()))


def team(name: str, *, now: bool = True) -> dict:
    update = json.loads((TEAM / name).read_text())
    if now:
        update["message"]["date"] = int(time.time())
    return update


def _samples() -> list[int]:
    path = PAYLOADS / SAMPLES_FILE
    return list(range(len(json.loads(path.read_text())))) if path.exists() else [-1]


def _sample_id(index: int) -> str:
    path = PAYLOADS / SAMPLES_FILE
    if not path.exists():
        return "corpus-missing"
    update = json.loads(path.read_text())[index]
    kind = next(key for key in update if key != "update_id")
    content = update[kind]
    detail = next((key for key in ("forward_from", "forward_from_chat", "reply_to_message",
                                   "entities", "audio", "voice", "document", "text")
                   if key in content), "")
    return f"{index}-{kind}-{detail}"


@pytest.fixture
def bot_api(fake_api):
    """sendMessage: the token is in the path; checks fields and the 4,096 UTF-16 unit limit."""
    def send(request):
        body = request.json()
        text = body.get("text")
        if not body.get("chat_id") or not isinstance(text, str) or not text:
            return Answer(400, {"ok": False, "error_code": 400,
                                "description": "Bad Request: message text is empty"})
        if count_utf16_units(text) > 4096:
            return Answer(400, {"ok": False, "error_code": 400,
                                "description": "Bad Request: message is too long"})
        quoted = body.get("reply_parameters", {}).get("message_id")
        if "reply_parameters" in body and not isinstance(quoted, int):
            return Answer(400, {"ok": False, "error_code": 400,
                                "description": "Bad Request: invalid reply parameters"})
        number = len(fake_api.sent("POST", f"/bot{TOKEN}/sendMessage"))
        return Answer(200, {"ok": True, "result": {
            "message_id": number, "date": int(time.time()), "text": text,
            "chat": {"id": body["chat_id"], "type": "private"},
            "from": {"id": 123456789, "is_bot": True, "first_name": "Support"}}})
    fake_api.route("POST", f"/bot{TOKEN}/sendMessage", send)
    return fake_api


@pytest.fixture
def channel(ctx, bot_api):
    return add_channel("telegram", "tg", secret_token=SECRET, bot_token=TOKEN,
                       api_base=bot_api.url)


# ---- every real update, each against a fresh database -----------------------------------------

EXPECTED = {  # index → (kind stored, outcome); the corpus file is a list
    0: ("other", "ignored"),     # "/start": a bare bot command
    1: ("other", "ignored"),     # forwarded "/start"
    2: ("other", "ignored"),     # forwarded from a channel, "/start"
    3: ("other", "ignored"),     # "/start" as a reply
    4: ("edit", "ignored"),      # an edit of a message we never saw
    5: ("message", "thread"),    # "Bold and italics"
    6: ("message", "ignored"),   # audio without a caption: nothing to show publicly
    7: ("message", "ignored"),   # voice
    8: ("message", "ignored"),   # document
    9: ("other", "ignored"),     # inline query
    10: ("other", "ignored"),    # chosen inline result
    11: ("other", "ignored"),    # button callback
}


@pytest.mark.parametrize("index", _samples(), ids=_sample_id)
def test_every_real_update(client, channel, payloads, index):
    update = json.loads((payloads / SAMPLES_FILE).read_text())[index]
    response = post(client, update)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"received": 1, "stored": 1}
    row = latest()
    assert row.payload == json.dumps(update)
    assert (row.kind, row.outcome) == EXPECTED[index], row.error
    message = update.get("message") or update.get("edited_message")
    if message:
        chat = message["chat"]["id"]
        assert row.conversation == str(chat)
        expected_id = f"{chat}:{message['message_id']}"
        assert row.external_id == (expected_id if "message" in update else
                                   f"edit:{expected_id}:{message['edit_date']}")
        if "reply_to_message" in message:
            assert row.reply_to == f"{chat}:{message['reply_to_message']['message_id']}"
    for item in row.media:  # a file reference, never a URL with the bot token in it
        assert item["url"].startswith("tg-file:") and TOKEN not in item["url"]
    if row.outcome == "thread":
        assert row.thread.question.body_source == message["text"]
        assert row.thread.question.author.username.endswith("-telegram")
        assert row.thread.tag_names == ["telegram"]
        assert db.session.scalar(select(OutboundMessage)).kind == "ack"
    else:
        assert count(Thread) == 0 and count(OutboundMessage) == 0


def test_a_real_edit_revises_the_real_message(client, channel, payloads):
    samples = json.loads((payloads / SAMPLES_FILE).read_text())
    original, edit = samples[5], samples[4]  # the same chat and message id
    post(client, original)
    assert post(client, edit).status_code == 200
    assert latest().outcome == "edited"
    question = db.session.scalar(select(Thread)).question
    assert question.body_source == "Edited text" and len(question.revisions) == 2


# ---- the secret token, duplicates, bad bodies ---------------------------------------------------

@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET[:-1], TOKEN])
def test_missing_or_wrong_secret_token_is_401_and_stores_nothing(client, channel, secret):
    response = post(client, team("telegram_text_link_emoji.json"), secret=secret)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bridge.signature"
    assert count(InboundMessage) == 0


def test_a_repeated_delivery_stores_nothing_new(client, channel):
    update = team("telegram_text_link_emoji.json")
    assert post(client, update).get_json() == {"received": 1, "stored": 1}
    again = post(client, update)
    assert again.status_code == 200 and again.get_json() == {"received": 1, "stored": 0}
    assert (count(InboundMessage), count(Thread), count(OutboundMessage)) == (1, 1, 1)


def test_the_same_message_id_in_another_chat_is_another_message(client, channel):
    update = team("telegram_text_link_emoji.json")
    post(client, update)
    other = copy.deepcopy(update)
    other["update_id"] += 1
    other["message"]["chat"]["id"] = other["message"]["from"]["id"] = 4242999
    assert post(client, other).get_json() == {"received": 1, "stored": 1}
    assert count(Thread) == 2


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"update_id": "1"}',
                                  b'{"update_id": 1}',
                                  b'{"update_id": 1, "message": {"message_id": 1}}',
                                  b'{"update_id": 1, "message": {"chat": {"id": 1}}}'])
def test_malformed_updates_are_400(client, channel, body):
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bridge.payload"
    assert count(InboundMessage) == 0


# ---- what is taken from a message --------------------------------------------------------------

def test_hidden_links_are_written_out_where_utf16_offsets_put_them(client, channel):
    post(client, team("telegram_text_link_emoji.json"))
    body = db.session.scalar(select(Thread)).question.body_source
    # Each 🔥 is two UTF-16 units: counted in code points, the link would land two letters late.
    assert "see my invoice (https://billing.example.com/inv/99) please" in body
    assert body.startswith("🔥🔥 الفاتورة خاطئة، ")


def test_group_photo_caption_becomes_a_thread_per_member(client, channel):
    update = team("telegram_group_photo.json")
    post(client, update)
    row = latest()
    message = update["message"]
    assert row.outcome == "thread"
    assert row.conversation == f"{message['chat']['id']}:{message['from']['id']}"
    assert row.url == f"https://t.me/router_owners/{message['message_id']}"
    assert row.media == [{"type": "photo", "url": "tg-file:AgACAgQAAxkBAAI-large"}]
    assert row.thread.question.body_source == message["caption"]
    assert row.identity.handle == "jonas_b" and row.identity.display_name == "Jonas"


def test_channel_posts_are_stored_not_posted(client, channel):
    update = json.loads((TEAM / "telegram_channel_post.json").read_text())
    assert post(client, update).status_code == 200
    row = latest()
    assert (row.kind, row.outcome) == ("other", "ignored")
    assert row.text == update["channel_post"]["text"]
    assert count(Thread) == 0


# ---- end to end through the fake Bot API ------------------------------------------------------

def test_telegram_end_to_end(client, channel, bot_api, users, token_for):
    complaint = team("telegram_text_link_emoji.json")
    chat, message_id = complaint["message"]["chat"]["id"], complaint["message"]["message_id"]
    post(client, complaint)
    thread = db.session.scalar(select(Thread))

    assert sending.run_once()["sent"] == 1
    [request] = bot_api.sent("POST", f"/bot{TOKEN}/sendMessage")
    sent = request.json()
    assert sent["chat_id"] == chat
    assert sent["reply_parameters"]["message_id"] == message_id
    assert sent["text"].startswith("Thanks, Amal K!")
    link = sent["text"].splitlines()[-1]
    assert link.startswith(f"http://localhost/threads/{thread.id}/")
    ack = db.session.scalar(select(OutboundMessage))
    assert ack.state == "sent" and ack.external_id == f"{chat}:1"

    # An answer full of astral characters: each counts two UTF-16 units.
    long_answer = "Fixed 🎉 " + " ".join(["Reissue the invoice from Billing 🧾 then Refresh 🔄"]
                                        * 120)
    answer = client.post(f"/api/v1/threads/{thread.id}/answers", json={"body": long_answer},
                         headers=token_for(users.staff))
    assert answer.status_code == 201
    accepted = client.post(f"/api/v1/threads/{thread.id}/accept",
                           json={"post_id": answer.get_json()["id"]},
                           headers=token_for(users.staff))
    assert accepted.status_code == 200, accepted.get_json()
    assert sending.run_once()["sent"] == 1
    reply = bot_api.sent("POST", f"/bot{TOKEN}/sendMessage")[-1].json()
    text = reply["text"]
    assert reply["chat_id"] == chat and reply["reply_parameters"]["message_id"] == message_id
    assert count_utf16_units(text) <= 4096 < count_utf16_units(long_answer)
    assert text.splitlines()[-1] == link and "…" in text

    # The customer answers our reply (message 2 in the chat): it joins the thread.
    follow_up = team("telegram_reply_to_bot.json")
    follow_up["message"]["reply_to_message"]["message_id"] = 2
    post(client, follow_up)
    row = latest()
    assert row.reply_to == f"{chat}:2" and row.outcome == "joined"
    assert [c.body_source for c in thread.question.comments] == [follow_up["message"]["text"]]


def test_a_group_reply_goes_to_the_group_quoting_the_member(client, channel, bot_api):
    update = team("telegram_group_photo.json")
    post(client, update)
    assert sending.run_once()["sent"] == 1
    sent = bot_api.sent("POST")[0].json()
    assert sent["chat_id"] == update["message"]["chat"]["id"]
    assert sent["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert db.session.scalar(select(OutboundMessage)).external_id == \
        f"{update['message']['chat']['id']}:1"


def test_flood_control_backs_off_by_retry_after_and_blocking_is_permanent(client, channel,
                                                                            bot_api):
    post(client, team("telegram_text_link_emoji.json"))
    row = db.session.scalar(select(OutboundMessage))
    # Telegram puts the wait in the body only, not in a Retry-After header.
    bot_api.fail_next(Answer(429, {"ok": False, "error_code": 429,
                                   "description": "Too Many Requests: retry after 40",
                                   "parameters": {"retry_after": 40}}))
    assert sending.run_once()["pending"] == 1
    db.session.refresh(row)
    assert row.state == "pending" and row.next_attempt_at >= utcnow() + timedelta(seconds=35)
    assert "429" in row.last_error

    row.next_attempt_at = utcnow()
    db.session.commit()
    bot_api.fail_next(Answer(403, {"ok": False, "error_code": 403,
                                   "description": "Forbidden: bot was blocked by the user"}))
    assert sending.run_once()["failed"] == 1
    db.session.refresh(row)
    assert row.state == "failed" and row.attempts == 2 and "blocked" in row.last_error


def test_ok_false_in_a_200_answer_is_an_error(client, channel, bot_api):
    post(client, team("telegram_text_link_emoji.json"))
    bot_api.fail_next(Answer(200, {"ok": False, "error_code": 400,
                                   "description": "Bad Request: chat not found"}))
    assert sending.run_once()["failed"] == 1
    assert "chat not found" in db.session.scalar(select(OutboundMessage)).last_error


def test_the_bot_token_never_appears_in_an_error(client, ctx):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    add_channel("telegram", "tg", secret_token=SECRET, bot_token=TOKEN,
                api_base=f"http://127.0.0.1:{closed}")
    post(client, team("telegram_text_link_emoji.json"))
    assert sending.run_once()["pending"] == 1  # nothing was sent: try again later
    row = db.session.scalar(select(OutboundMessage))
    assert "could not reach" in row.last_error and "<bot-token>" in row.last_error
    assert TOKEN not in row.last_error and TOKEN.split(":")[1] not in row.last_error
