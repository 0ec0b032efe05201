"""Schemathesis against GET /api/v1/openapi.json (issue 14, item 6): every documented operation
gets generated requests, valid and invalid, from the app in-process; no answer may be a 5xx, and
every answer must be one the document lists, in the shape it gives.

A member's bearer token goes with every request, so writes get past authentication, and a
few rows exist (a thread with an answer and a comment, and one that came in from a bridge
channel), so that lists have something to show. Examples are few and derandomized: the same
requests on every run, in well under a minute.
"""

from __future__ import annotations

import json
import secrets
import time
from types import SimpleNamespace

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Config
from whoosh.codec.base import Segment

from community.bridge import generic
from community.services import threads
from community.views.api.openapi import SPEC
from tests.bridge.conftest import add_channel, deliver
from tests.factories import make_user

# Hypothesis warns when the global `random` moves while it draws an example, taking it for the
# strategy's doing; here the app's own threads move it (retry and backoff jitter, Whoosh's
# file names), and so does Schemathesis.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning")

SECRET = "fuzz-secret"
# Path parameters name the rows made below (ids start at 1 in every test), so requests reach a
# real thread, post and channel rather than only 404s.
ROWS = {"thread_id": 1, "post_id": 2, "user_id": 2, "inbound_id": 1, "reply_id": 1,
        "notification_id": 1, "identity_id": 1, "slug": "partner"}
CONFIG = Config.from_dict({
    "seed": 14,
    "generation": {"max-examples": 10, "deterministic": True, "database": "none"},
    "parameters": {f"path.{name}": value for name, value in ROWS.items()},
    # Examples from the document, boundary and wrong-type values for every field (coverage),
    # then random requests; each operation stands alone (no stateful chains).
    "phases": {"stateful": {"enabled": False}},
    "checks": {
        # The document gives shapes, not rules (title lengths, reputation to vote down), so a
        # valid-looking request may well be refused with 422 or 403.
        "positive_data_acceptance": {"enabled": False},
    },
})


@pytest.fixture
def people(ctx):
    """The member whose token every request carries (user 1), a helper (2) and an asker (3)."""
    return SimpleNamespace(**{name: make_user(name) for name in ("member", "helper", "asker")})


@pytest.fixture
def rows(client, people, indexed):
    """The member's thread (1) with an answer (post 2) and a comment, and a thread from a
    bridge channel (2, post 3), indexed."""
    thread = threads.ask(people.member, "Roaming stopped working abroad",
                         "My phone shows no network on roaming since Monday.", ["roaming"])
    answer = threads.answer(people.helper, thread, "Turn data roaming on in the settings.")
    threads.comment(people.asker, answer, "That did it, thank you.")
    add_channel("generic", "partner", secret=SECRET, callback_url="http://127.0.0.1:9/x")
    body = json.dumps({"type": "message", "id": "m1", "conversation": "c1",
                       "author": {"id": "u1"}, "text": "My voicemail greeting will not save.",
                       "timestamp": int(time.time())}).encode()
    assert deliver(client, "partner", body, generic.sign(SECRET, body)).status_code == 200
    indexed()


@pytest.fixture(autouse=True)
def segment_names_apart(monkeypatch):
    """Hypothesis seeds the global `random` to 0 for every example, and Whoosh names each new
    index segment with it: the indexer's next segment would take an earlier one's name."""
    monkeypatch.setattr(Segment, "_random_id",
                        classmethod(lambda cls, size=16: secrets.token_hex(size // 2)))


@pytest.fixture
def member(people, token_for):
    return token_for(people.member)


schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)


def test_the_app_serves_the_document_fuzzed_here(client, ctx):
    assert client.get("/api/v1/openapi.json").get_json() == SPEC


@schema.parametrize()
# The rows are made once per operation, and its requests build on one another (a sign-up, then
# a thread): that is the point, so the fixtures are not made again for each example.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case, app, rows, member):
    # The schema is read at import, before there is an app: requests, and the checks' own
    # probes (the same request without the token, say), go to the test app through WSGI.
    case.operation.schema.app = app
    case.call_and_validate(app=app, headers=member)
