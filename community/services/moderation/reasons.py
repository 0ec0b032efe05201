"""The reason a moderator gives for an action: one line, required, bounded. The people it
concerns see it (on the hidden post, the locked thread, the suspended account's refusals)."""

from __future__ import annotations

from typing import Any

from community.services.errors import Invalid
from community.services.text import clean_text

REASON_MAX = 500


def optional_reason(raw: Any) -> str:
    """The reason as one line of text, "" when none was given (or not as text); Invalid
    `reason.too_long` past REASON_MAX."""
    reason = " ".join(clean_text(raw).split()) if isinstance(raw, str) else ""
    if len(reason) > REASON_MAX:
        raise Invalid("reason", "reason.too_long", f"A reason is at most {REASON_MAX} characters.")
    return reason


def required_reason(raw: Any) -> str:
    """The reason as one line; Invalid `reason.required` or `reason.too_long` otherwise."""
    reason = optional_reason(raw)
    if not reason:
        raise Invalid("reason", "reason.required", "Say why (the people concerned see it).")
    return reason
