"""Search in real Chromium: similar questions while typing a title on /ask, the header search
box, highlighted results, "did you mean", and an Arabic query.

The similar-questions panel (`[data-similar-url]` on /ask, static/js/site.js
`similarQuestions`) asks GET /api/v1/threads/similar?title= 200 ms after the last keystroke
and shows up to 5 threads, solved first; with fewer than 4 characters it hides itself.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

ESIM_TITLE = "eSIM QR code not valid"
# Unsolved, and matching the typed title at least as well: solved must still come first.
ESIM_OPEN_TITLE = "My eSIM QR code will not scan on my phone"
ARABIC_TITLE = "الشريحة الإلكترونية لا تعمل في دبي"


@dataclass(frozen=True)
class Forum:
    esim_id: int
    esim_open_id: int
    roaming_ids: tuple[int, ...]
    arabic_id: int


@pytest.fixture
def forum(app, indexed) -> Forum:
    """One solved eSIM thread, one open eSIM thread, roaming threads, one Arabic thread;
    committed and searchable."""
    from community.extensions import db
    from community.services import answers
    from tests.factories import make_answer, make_thread, make_user

    with app.app_context():
        alice = make_user("alice")
        bilal = make_user("bilal")
        make_user("carmen")  # the one who logs in and asks
        esim = make_thread(alice, ESIM_TITLE,
                           "Scanning the **QR code** from the shop says *code not valid*.",
                           tags=("esim",))
        fix = make_answer(bilal, esim, "Each eSIM QR code works once: ask the shop for a new "
                                       "one and scan it over Wi-Fi.")
        answers.accept(alice, esim, fix)
        esim_open = make_thread(bilal, ESIM_OPEN_TITLE, "The camera sees the QR code, then "
                                "nothing happens.", tags=("esim",))
        roaming = [
            make_thread(alice, "Roaming not working in Spain",
                        "Data roaming is on but I get no signal in Madrid.", tags=("roaming",)),
            make_thread(bilal, "How do I turn on data roaming?",
                        "Where is the roaming switch on Android?", tags=("roaming",)),
            make_thread(alice, "Roaming charges after coming home",
                        "I was billed for roaming after I got back.", tags=("billing", "roaming")),
        ]
        make_answer(alice, roaming[1], "Settings, Network, then turn on *Data roaming*.")
        arabic = make_thread(bilal, ARABIC_TITLE,
                             "اشتريت شريحة إلكترونية ولا يوجد اتصال بالشبكة عند السفر.",
                             tags=("esim",))
        forum = Forum(esim.id, esim_open.id, tuple(t.id for t in roaming), arabic.id)
        db.session.remove()
    indexed()
    return forum


def thread_path(thread_id: int) -> re.Pattern:
    return re.compile(rf"/threads/{thread_id}(/[^/?#]*)?$")


def test_similar_questions_appear_while_typing_a_title(forum, page, artifacts):
    from playwright.sync_api import expect

    asker = page()
    p = asker.page
    log_in(p, "carmen", "/ask")

    panel = p.locator("[data-similar-url]")
    items = panel.locator("[data-similar-list] > li")
    title = p.locator("#title")
    expect(panel).to_be_hidden()

    title.click()
    p.keyboard.type("my esim qr code", delay=60)
    typed = time.monotonic()
    # Debounce (200 ms) + one request: it should show well inside two seconds.
    expect(panel).to_be_visible(timeout=2_000)
    shown_after = time.monotonic() - typed
    assert shown_after < 2.0, f"the panel took {shown_after:.2f} s to appear"
    expect(panel.get_by_role("heading")).to_have_text("These may already answer your question")
    # The answer to the last keystroke is what shows, both eSIM threads, the solved one first.
    expect(items.first).to_contain_text(ESIM_TITLE)
    expect(items.first.locator(".status")).to_have_text("Solved")
    expect(items.filter(has_text=ESIM_OPEN_TITLE)).to_have_count(1)
    assert items.count() <= 5
    # Nothing about roaming (or in Arabic) matches "my esim qr code" ("my" is a stop word).
    expect(items.filter(has_text=re.compile("Roaming"))).to_have_count(0)
    links = panel.get_by_role("link")
    expect(links.first).to_have_text(ESIM_TITLE)
    assert thread_path(forum.esim_id).search(links.first.get_attribute("href"))
    expect(links.filter(has_text=ESIM_OPEN_TITLE)).to_have_attribute(
        "href", thread_path(forum.esim_open_id))
    p.screenshot(path=str(artifacts / "similar_panel.png"), full_page=True)

    # Clearing the title hides the panel again.
    p.keyboard.press("Control+a")
    p.keyboard.press("Backspace")
    expect(title).to_have_value("")
    expect(panel).to_be_hidden(timeout=2_000)

    # A different question shows different threads; a link takes the asker to the thread.
    p.keyboard.type("roaming in spain", delay=40)
    expect(items.first).to_contain_text("Roaming not working in Spain", timeout=2_000)
    expect(panel).to_be_visible()
    expect(items.filter(has_text=re.compile("eSIM"))).to_have_count(0)
    p.keyboard.press("Control+a")
    p.keyboard.press("Backspace")
    expect(panel).to_be_hidden(timeout=2_000)
    p.keyboard.type("esim qr code", delay=40)
    expect(links.first).to_have_text(ESIM_TITLE, timeout=2_000)
    links.first.click()
    expect(p).to_have_url(thread_path(forum.esim_id))
    expect(p.get_by_role("heading", level=1)).to_have_text(ESIM_TITLE)

    assert asker.problems() == []


def header_search(p, text: str) -> None:
    from playwright.sync_api import expect

    box = p.get_by_role("search").filter(has=p.locator("#header-q")).locator("#header-q")
    box.fill(text)
    box.press("Enter")
    expect(p).to_have_url(re.compile(r"/search\?q="))


def test_header_search_highlights_suggests_and_finds_arabic(forum, page, artifacts):
    from playwright.sync_api import expect

    visitor = page()
    p = visitor.page
    p.goto("/")
    header_search(p, "roaming")
    expect(p.get_by_role("heading", level=1)).to_have_text("Search solved questions and answers")
    expect(p.locator("#search-q")).to_have_value("roaming")
    results = p.locator("ol.search-results > li")
    expect(results).to_have_count(3)
    expect(p.get_by_role("status")).to_have_text("3 results")
    # Each snippet marks the word searched for (stemmed: "roaming" matches as typed here).
    marks = p.locator("ol.search-results .snippet mark")
    expect(marks.first).to_be_visible()
    assert {m.lower() for m in marks.all_inner_texts()} == {"roaming"}
    for link in results.locator(".thread-title a").all():
        assert int(re.search(r"/threads/(\d+)", link.get_attribute("href")).group(1)) in (
            forum.roaming_ids)
    expect(p.locator(".suggestion")).to_have_count(0)
    p.screenshot(path=str(artifacts / "search_results.png"), full_page=True)

    # A misspelling: no exact hit, so the page offers (and shows results for) the real word.
    header_search(p, "roamnig")
    suggestion = p.locator("p.suggestion")
    expect(suggestion).to_be_visible()
    expect(suggestion.get_by_role("link")).to_have_text("roaming")
    expect(suggestion).to_contain_text("roamnig")
    expect(results.first).to_be_visible()
    expect(results.locator(".thread-title a").first).to_contain_text(re.compile("roaming", re.I))
    suggestion.get_by_role("link").click()
    expect(p.locator("#search-q")).to_have_value("roaming")
    expect(results).to_have_count(3)

    # Arabic, written without the article, with ة and a hamza'd alef where the post differs.
    header_search(p, "شريحه الكترونية")
    expect(results).to_have_count(1)
    link = results.locator(".thread-title a")
    expect(link).to_have_text(ARABIC_TITLE)
    assert thread_path(forum.arabic_id).search(link.get_attribute("href"))
    expect(p.locator("ol.search-results .snippet mark").first).to_be_visible()

    assert visitor.problems() == []
