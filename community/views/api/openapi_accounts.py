"""The OpenAPI description of the account routes (views/api/me.py: profile edits, verification,
avatar, password reset), added to the document in openapi.py (which stays under 500 lines)."""

from __future__ import annotations

from typing import Any

from community.views.api.openapi import PATHS, SCHEMAS, STR, _obj, _op, _ref

BOOL = {"type": "boolean"}
MESSAGE = _obj(["message"], message=STR)
ARRAY = {"type": "array", "items": {"type": "object"}}
PROFILE_FIELDS = {
    "display_name": STR, "bio_html": {"type": "string", "description": "The bio as rendered"},
    "location": STR, "website": STR, "avatar_url": STR, "email_verified": BOOL,
    "email_notifications": {"enum": ["immediately", "daily", "never"]},
}
PATCH_BODY = _obj(
    [], display_name={"type": "string", "maxLength": 64},
    bio={"type": "string", "maxLength": 2000, "description": "Markdown, cleaned like posts."},
    location={"type": "string", "maxLength": 100},
    website={"type": "string", "description": "http(s) address, or empty; shown nofollow."},
    email={"type": "string", "description": "Unverified until its link is opened; needs "
                                            "current_password."},
    password={"type": "string", "description": "Needs current_password; ends the other "
                                               "browser sessions."},
    current_password=STR, email_notifications=PROFILE_FIELDS["email_notifications"])
IMAGE_BODY = {"required": True, "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary",
               "description": "A PNG, JPEG or WebP image (SVG is refused)."}}}}

ACCOUNT_PATHS: dict[str, Any] = {
    "/password-reset": {"post": _op(
        "Ask for a password-reset link by email; the same 202 whether or not an account has "
        "the address", 202, MESSAGE, errors=(400, 413, 422, 429),
        body=_obj(["email"], email=STR))},
    "/password-reset/confirm": {"post": _op(
        "Set a new password with the link's token; ends every session and API token of the "
        "account (422 token.invalid, token.expired, token.used)", 204, None,
        errors=(400, 413, 422), body=_obj(["token", "password"], token=STR, password=STR))},
    "/me/verify-email": {"post": _op(
        "Send the verification link again (409 when already verified)", 202, MESSAGE,
        errors=(401, 409, 429), auth=True)},
    "/me/avatar": {
        "put": {**_op("Upload a picture (re-encoded, EXIF stripped)", 200, _ref("User"),
                      errors=(400, 401, 403, 413, 422), auth=True),
                "requestBody": IMAGE_BODY},
        "delete": _op("Go back to the generated picture", 200, _ref("User"), errors=(401,),
                      auth=True),
    },
}

PATHS["/me"]["delete"] = _op(
    "Delete your account with {\"password\"}: posts stay, by \"a former member\"; personal "
    "data erased; linked social accounts unlinked", 204, None, errors=(400, 401, 413, 422),
    auth=True, body=_obj(["password"], password=STR))
PATHS["/me/export"] = {"get": _op(
    "Download your data: profile, posts, comments, votes, notifications, linked identities",
    200, _obj(["profile", "posts", "comments", "votes", "notifications", "linked_identities"],
              profile={"type": "object"}, posts=ARRAY, comments=ARRAY, votes=ARRAY,
              notifications=ARRAY, linked_identities=ARRAY),
    errors=(401,), auth=True)}
PATHS["/me"]["patch"] = _op(
    "Edit your profile and account; only the fields sent change", 200, _ref("User"),
    errors=(400, 401, 403, 409, 413, 422), auth=True, body=PATCH_BODY)
SCHEMAS["User"]["properties"].update(PROFILE_FIELDS)
PATHS.update(ACCOUNT_PATHS)
