"""Blueprint registration and the one place where domain errors become HTTP responses."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from community.extensions import db
from community.services.errors import DomainError
from community.views import auth, bridge, formatting, notifications, search, threads, users
from community.views import audit, moderation_threads
from community.views import moderation
from community.views import held
from community.views import triage
from community.views import settings
from community.views import webhooks
from community.views.api import bp as api_bp

# HTTP status → stable error code for failures raised by Flask or Werkzeug themselves.
HTTP_CODES = {
    400: "request.invalid",
    401: "auth.required",
    403: "forbidden",
    404: "not_found",
    405: "method.not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    429: "rate_limited",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/bridge/")


def error_response(status: int, code: str, message: str, field: str | None = None):
    if wants_json():
        body = {"code": code, "message": message}
        if field:
            body["field"] = field
        return jsonify(error=body), status
    return render_template("errors/error.html", status=status, code=code, message=message), status


def register_blueprints(app: Flask) -> None:
    for blueprint in (auth.bp, threads.bp, users.bp, search.bp, bridge.bp, api_bp,
                      notifications.bp):
        app.register_blueprint(blueprint)
    for blueprint in (audit.bp, moderation_threads.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(held.bp)
    app.register_blueprint(triage.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(webhooks.bp)
    formatting.init_app(app)
    notifications.init_app(app)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return error_response(400, "csrf.invalid",
                              "The form expired or came from elsewhere; reload and try again.")

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded):
        return error_response(429, "rate_limited",
                              f"Too many requests ({exc.description}); slow down.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        body, status = error_response(status, HTTP_CODES.get(status, "http.error"),
                                      exc.description or "")
        # Werkzeug's own headers, such as the Allow that RFC 9110 requires on a 405.
        return body, status, [(name, value) for name, value in exc.get_headers()
                              if name.lower() != "content-type"]
