"""API: the audit log of staff actions (moderators and admins). Read only: entries are never
changed or deleted."""

from __future__ import annotations

from flask import request

from community.security import current_actor
from community.services import audit
from community.views.api import schemas
from community.views.api.common import bp, limit_arg, list_response


@bp.get("/moderation/audit")
def audit_log():
    args = request.args
    page = audit.search(current_actor(), actor=args.get("actor"), action=args.get("action"),
                        target_kind=args.get("target_kind"), target_id=args.get("target_id"),
                        since=args.get("since"), until=args.get("until"),
                        cursor=args.get("cursor") or None, limit=limit_arg())
    return list_response(page, schemas.audit_entry)
