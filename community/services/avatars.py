"""Avatars: a generated SVG for everyone (initials on a colour from the name), and an uploaded
PNG, JPEG or WebP, checked and re-encoded with Pillow so what we serve is never what was sent
(no EXIF, no trailing bytes, no SVG)."""

from __future__ import annotations

import hashlib
import io
import unicodedata
import warnings
from html import escape

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from community.extensions import db
from community.models import Avatar, User
from community.services import permissions
from community.services.errors import Invalid

FORMATS = ("PNG", "JPEG", "WEBP")
# Colours for generated avatars, each dark enough for white initials (WCAG AA at this size).
PALETTE = ("#1f5f8b", "#7a3e9d", "#2e7d32", "#a23b2a", "#8a5a00", "#00695c", "#5d4037",
           "#ad1457", "#37474f", "#4527a0")
SVG_TYPE = "image/svg+xml"


def set_upload(actor: User, data: bytes) -> User:
    """The actor's uploaded avatar: PNG, JPEG or WebP within AVATAR_MAX_BYTES and
    AVATAR_MAX_PIXELS, cropped to a square, re-encoded without metadata. Raises Invalid
    `avatar.too_large`, `avatar.type`, `avatar.pixels`, `avatar.broken`; changes nothing then."""
    permissions.require(actor, "profile.edit")
    config = current_app.config
    if not data:
        raise Invalid("avatar", "avatar.missing", "Choose an image to upload.")
    if len(data) > config["AVATAR_MAX_BYTES"]:
        raise Invalid("avatar", "avatar.too_large",
                      f"Images are at most {config['AVATAR_MAX_BYTES'] // 1024} KiB.")
    encoded, content_type = _reencode(data, config["AVATAR_MAX_PIXELS"], config["AVATAR_SIZE"])
    avatar = db.session.get(Avatar, actor.id)
    if avatar is None:
        db.session.add(Avatar(user_id=actor.id, content_type=content_type, data=encoded))
    else:
        avatar.content_type, avatar.data = content_type, encoded
    actor.avatar_version = (actor.avatar_version or 0) + 1
    db.session.commit()
    return actor


def remove_upload(actor: User) -> User:
    """The actor goes back to the generated avatar."""
    permissions.require(actor, "account.edit")
    avatar = db.session.get(Avatar, actor.id)
    if avatar is not None:
        db.session.delete(avatar)
        actor.avatar_version = (actor.avatar_version or 0) + 1
    db.session.commit()
    return actor


def _reencode(data: bytes, max_pixels: int, side: int) -> tuple[bytes, str]:
    """The image decoded by Pillow, checked, cropped and saved again as WebP."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise Invalid("avatar", "avatar.pixels",
                              f"Images are at most {max_pixels:,} pixels; this one is "
                              f"{width}×{height}.")
            image.seek(0)  # an animation's first frame only
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Invalid("avatar", "avatar.pixels", "That image has too many pixels.") from None
    except UnidentifiedImageError:
        raise Invalid("avatar", "avatar.type", "Avatars are PNG, JPEG or WebP images.") from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise Invalid("avatar", "avatar.broken", "That image could not be read.") from None
    image = ImageOps.exif_transpose(image)  # upright as the camera meant, then EXIF is dropped
    image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info
                          else "RGB")
    image = ImageOps.fit(image, (side, side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=85, method=4)
    return out.getvalue(), "image/webp"


def has_upload(user: User) -> bool:
    return bool(user.avatar_version) and db.session.get(Avatar, user.id) is not None


def image_for(user: User) -> tuple[bytes, str]:
    """What `/users/<id>/avatar` serves: the uploaded image, else the generated SVG."""
    if user.avatar_version:
        avatar = db.session.get(Avatar, user.id)
        if avatar is not None:
            return avatar.data, avatar.content_type
    return generated_svg(user).encode(), SVG_TYPE


def initials(user: User) -> str:
    """One or two letters from the display name (else the username), upper-cased."""
    words = [w for w in (user.display_name or user.username).replace("_", " ")
             .replace(".", " ").replace("-", " ").split() if w]
    letters = [unicodedata.normalize("NFC", w)[0] for w in words[:2]] or ["?"]
    return "".join(letters).upper()


def generated_svg(user: User) -> str:
    """Initials on a circle whose colour comes from the username: no script, no style, no link
    (served with a CSP of its own and nosniff)."""
    colour = PALETTE[hashlib.sha256(user.username.encode()).digest()[0] % len(PALETTE)]
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" '
            'height="64" role="img">'
            f'<circle cx="32" cy="32" r="32" fill="{colour}"/>'
            '<text x="32" y="32" dy=".35em" text-anchor="middle" fill="#ffffff" '
            'font-family="sans-serif" font-size="26" font-weight="600">'
            f'{escape(initials(user))}</text></svg>')
