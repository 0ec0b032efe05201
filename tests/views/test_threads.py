"""Thread pages through the test client: lists, the thread page, ask/answer/comment/edit forms."""

import re

import pytest

from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread


def test_visitors_read_every_list_and_thread(client, users):
    thread = make_thread(users.asker, title="Roaming in Spain not working")
    make_answer(users.helper, thread)
    for path in ["/", "/newest", "/unanswered", "/solved", "/tags/roaming",
                 f"/threads/{thread.id}", f"/users/{users.asker.id}",
                 f"/posts/{thread.question.id}/revisions"]:
        response = client.get(path)
        assert response.status_code == 200, path
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "Roaming in Spain not working" in page
    assert 'class="post-body" dir="auto"' in page
    assert "Log in</a> or" in page  # visitors are invited to log in rather than shown a form


def test_lists_page_with_cursors(app, client, users):
    app.config["PAGE_SIZE"] = 2
    try:
        for n in range(5):
            make_thread(users.asker, title=f"Question number {n} about data")
        seen, path = [], "/newest"
        while path:
            page = client.get(path).get_data(as_text=True)
            seen += re.findall(r"Question number (\d)", page)
            match = re.search(r'rel="next" href="([^"]+)"', page)
            path = match.group(1).replace("&amp;", "&") if match else None
        assert seen == ["4", "3", "2", "1", "0"]
    finally:
        app.config["PAGE_SIZE"] = 30


def test_bad_cursor_is_a_400_page(client):
    response = client.get("/newest?cursor=not-a-cursor")
    assert response.status_code == 400
    assert "cursor is not valid" in response.get_data(as_text=True)


def test_ask_requires_login(client):
    response = client.get("/ask")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_ask_answer_comment_edit_through_forms(client, users):
    login(client, "asker")
    token = csrf_token(client, "/ask")
    response = client.post("/ask", data={"csrf_token": token, "title": "eSIM will not activate",
                                         "body": "I scanned the **QR** code.", "tags": "esim"})
    assert response.status_code == 302
    thread_path = response.headers["Location"]
    page = client.get(thread_path).get_data(as_text=True)
    assert "<strong>QR</strong>" in page

    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, "helper")
    thread_id = int(re.search(r"/threads/(\d+)", thread_path).group(1))
    token = csrf_token(client, thread_path)
    response = client.post(f"/threads/{thread_id}/answers",
                           data={"csrf_token": token, "body": "Restart after scanning."})
    assert response.status_code == 302 and "#post-" in response.headers["Location"]
    post_id = int(response.headers["Location"].rsplit("#post-", 1)[1])
    response = client.post(f"/posts/{post_id}/comments",
                           data={"csrf_token": token, "body": "Worked for me too"})
    assert response.status_code == 302
    response = client.post(f"/posts/{post_id}/edit",
                           data={"csrf_token": token, "body": "Restart **after** scanning.",
                                 "summary": "bold"})
    assert response.status_code == 302
    page = client.get(thread_path).get_data(as_text=True)
    assert "Restart <strong>after</strong> scanning." in page and "Worked for me too" in page


def test_form_errors_are_shown_beside_fields(client, users):
    login(client, "asker")
    token = csrf_token(client, "/ask")
    response = client.post("/ask", data={"csrf_token": token, "title": "short",
                                         "body": "text", "tags": "x"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and "at least 8 characters" in page
    assert 'value="short"' in page  # what the user typed is kept


def test_editing_someone_elses_post_is_forbidden(client, users):
    thread = make_thread(users.asker)
    login(client, "other")
    assert client.get(f"/posts/{thread.question.id}/edit").status_code == 403
    response = client.post(f"/posts/{thread.question.id}/edit",
                           data={"csrf_token": csrf_token(client), "body": "vandalised"})
    assert response.status_code == 403


def test_asker_accepts_and_thread_shows_solved(client, users):
    thread = make_thread(users.asker)
    post = make_answer(users.helper, thread)
    login(client, "asker")
    path = f"/threads/{thread.id}"
    response = client.post(f"/threads/{thread.id}/accept",
                           data={"csrf_token": csrf_token(client, path), "post_id": str(post.id)})
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "status-solved" in page and "✓ Accepted" in page


@pytest.mark.parametrize("path", ["/threads/999", "/users/999", "/posts/999/revisions",
                                  "/tags/nothing-here?cursor=%%%"])
def test_missing_things_are_clean_4xx(client, path):
    assert client.get(path).status_code in (400, 404)


def test_arabic_thread_is_shown_and_tagged(client, users):
    thread = make_thread(users.asker, title="التجوال لا يعمل في دبي", body="مرحبا، أحتاج مساعدة.",
                         tags=["تجوال"])
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "التجوال لا يعمل في دبي" in page and "مرحبا، أحتاج مساعدة." in page
    assert client.get("/tags/تجوال").status_code == 200
