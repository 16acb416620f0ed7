"""The server's exceptions; the API maps each to a 4xx with its message."""

from __future__ import annotations


class DigibankError(Exception):
    """Base of the server's own errors."""

    status_code = 400


class NotFound(DigibankError):
    """The thing asked for does not exist."""

    status_code = 404


class Conflict(DigibankError):
    """The request is well-formed but the current state forbids it (409)."""

    status_code = 409


class InvalidInput(DigibankError):
    """The request's content is wrong in a way the schema could not tell (422)."""

    status_code = 422


class Forbidden(DigibankError):
    """Authenticated, but not allowed to do this (403)."""

    status_code = 403


class TooManyAttempts(DigibankError):
    """Too many failed logins (429)."""

    status_code = 429
