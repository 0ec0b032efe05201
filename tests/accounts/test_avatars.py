"""Avatars (issue 17): a generated SVG for everyone, served safely; uploads of PNG, JPEG and
WebP only, within size and pixel limits, re-encoded without EXIF; shown beside names."""

from __future__ import annotations

import io

from PIL import Image

from community.extensions import db
from community.models import Avatar
from tests.api.contract import assert_error
from tests.conftest import csrf_token, login
from tests.factories import make_answer, make_thread


def _image(fmt: str, size=(300, 200), exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    extra = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {2: (52.0, 13.0, 0.0)}  # GPS
        extra["exif"] = data.tobytes()
    image.save(out, format=fmt, **extra)
    return out.getvalue()


def test_generated_avatar_is_a_safe_svg_beside_names(client, ctx, users):
    thread = make_thread(users.asker, "Voicemail greeting will not save")
    make_answer(users.helper, thread)
    svg = client.get(f"/users/{users.asker.id}/avatar")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "default-src 'none'" in svg.headers["Content-Security-Policy"]
    assert svg.headers["X-Content-Type-Options"] == "nosniff"
    text = svg.get_data(as_text=True)
    assert ">A</text>" in text and "<script" not in text
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert f'src="/users/{users.helper.id}/avatar?v=0"' in page
    assert f'src="/users/{users.asker.id}/avatar?v=0"' in client.get("/newest").get_data(as_text=True)
    assert client.get("/users/999999/avatar").status_code == 404


def test_upload_reencodes_and_strips_exif(client, ctx, users, token_for):
    login(client, "asker")
    done = client.post("/settings/avatar", data={
        "csrf_token": csrf_token(client, "/settings"),
        "avatar": (io.BytesIO(_image("JPEG", exif=True)), "me.jpg")},
        content_type="multipart/form-data")
    assert done.status_code == 302
    db.session.refresh(users.asker)
    assert users.asker.avatar_version == 1
    served = client.get(f"/users/{users.asker.id}/avatar?v=1")
    assert served.mimetype == "image/webp"
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "WEBP" and image.size == (256, 256)
    assert not image.getexif() and b"SecretCam" not in served.data
    assert f"/users/{users.asker.id}/avatar?v=1" in client.get(f"/users/{users.asker.id}").get_data(as_text=True)

    headers = token_for(users.asker)
    removed = client.delete("/api/v1/me/avatar", headers=headers)
    assert removed.status_code == 200 and removed.get_json()["avatar_url"].endswith("v=2")
    assert client.get(f"/users/{users.asker.id}/avatar").mimetype == "image/svg+xml"
    uploaded = client.put("/api/v1/me/avatar", headers=headers, data=_image("PNG"))
    assert uploaded.status_code == 200 and uploaded.get_json()["avatar_url"].endswith("v=3")


def test_bad_uploads_are_refused_and_change_nothing(app, client, ctx, users, token_for):
    headers = token_for(users.asker)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    php = b"<?php system($_GET['c']); ?>"
    html = b"<html><script>alert(1)</script></html>"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    for body in (svg, php, html, gif.getvalue(), _image("PNG")[:60]):
        response = client.put("/api/v1/me/avatar", headers=headers, data=body)
        assert response.status_code == 422, body[:20]
        assert response.get_json()["error"]["code"] in ("avatar.type", "avatar.broken")
    # Many pixels in few bytes (a decompression bomb).
    bomb = io.BytesIO()
    Image.new("1", (6000, 6000)).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 100_000
    assert_error(client.put("/api/v1/me/avatar", headers=headers, data=bomb.getvalue()), 422,
                 "avatar.pixels", "avatar")
    app.config["AVATAR_MAX_BYTES"] = 1000
    try:
        assert_error(client.put("/api/v1/me/avatar", headers=headers, data=_image("PNG") * 3),
                     422, "avatar.too_large", "avatar")
    finally:
        app.config["AVATAR_MAX_BYTES"] = 5 * 1024 * 1024
    db.session.refresh(users.asker)
    assert users.asker.avatar_version == 0 and db.session.get(Avatar, users.asker.id) is None

    # Through the page: a PHP file named .png is shown the error, not stored.
    login(client, "asker")
    page = client.post("/settings/avatar", data={
        "csrf_token": csrf_token(client, "/settings"), "avatar": (io.BytesIO(php), "shell.png")},
        content_type="multipart/form-data")
    assert page.status_code == 422 and "PNG, JPEG or WebP" in page.get_data(as_text=True)
    assert db.session.get(Avatar, users.asker.id) is None
