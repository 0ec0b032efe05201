"""Domain errors with stable dotted codes; views/__init__.py turns them into HTTP."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: `code` is stable (API clients and tests match on it), `message` is for people."""

    status = 400

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class BadRequest(DomainError):
    """Malformed input the client should not have sent (a broken cursor, JSON that is not an object)."""

    status = 400


class Unauthorized(DomainError):
    """The request needs a logged-in user (or a valid API token) and has none."""

    status = 401


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Invalid(DomainError):
    """Input that is well-formed but breaks a rule; names the offending field."""

    status = 422

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(code, message, field=field)
