"""Dashboard sign-in: a signed session cookie, the logged-in user, and CSRF tokens for forms."""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Annotated, NoReturn
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy import Connection, Integer, bindparam, select
from sqlalchemy.orm import Session

from server.api.deps import SessionDep
from server.core.driver_query import DriverQuery
from server.errors import TooManyAttempts
from server.models import User
from server.security import check_credentials

log = logging.getLogger(__name__)

SESSION_COOKIE = "digibank_session"
SESSION_MAX_AGE_S = 12 * 3600


class LoginRequired(Exception):
    """No valid session: the handler redirects to /login, remembering where to come back."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form came without the session's CSRF token: refused with 403."""


@dataclass(frozen=True)
class DashUser:
    """The signed-in person, as the pages need them."""

    id: int
    username: str
    role: str


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse the request unless `submitted` equals the session's CSRF token."""
    expected = request.session.get("csrf")
    if (
        not isinstance(expected, str)
        or not submitted
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        log.warning("dashboard: CSRF token missing or wrong on %s", request.url.path)
        raise CsrfRefused()


def current_user(request: Request, session: SessionDep) -> DashUser:
    """The logged-in, still active user; LoginRequired otherwise."""
    who = signed_in_user(request, session.connection())
    # End this read now: on SQLite every transaction holds the write lock (BEGIN IMMEDIATE),
    # and a streamed export would otherwise keep it for the whole download.
    session.rollback()
    return who


def signed_in_user(request: Request, conn: Connection) -> DashUser:
    """The logged-in, still active user, read in `conn`'s transaction; else LoginRequired."""
    user_id = request.session.get("uid")
    # The columns as a tuple, on the driver: the lookup costs less than SQLAlchemy's
    # execution of it (an ORM object costs more still).
    row = _USER_BY_ID.first(conn, {"uid": user_id}) if isinstance(user_id, int) else None
    if row is None:
        return _login_required(request)
    uid, username, role, active, password_hash = row
    if not active or request.session.get("pw") != _pw_stamp(password_hash):
        return _login_required(request)
    return DashUser(id=uid, username=username, role=role)


def _login_required(request: Request) -> NoReturn:
    request.session.pop("uid", None)
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    raise LoginRequired(path)


UserDep = Annotated[DashUser, Depends(current_user)]

_USER_BY_ID = DriverQuery(
    select(User.id, User.username, User.role, User.active, User.password_hash).where(
        User.id == bindparam("uid", type_=Integer())
    )
)


def log_in(
    request: Request, session: Session, username: str, password: str, limit: int, window_s: int
) -> User | None:
    """Check the credentials under the failed-login limit; on success start a fresh session."""
    client = request.client.host if request.client else "unknown"
    keys = [f"user:{username.lower()}", f"addr:{client}"]
    user = check_credentials(session, username, password, keys, limit, window_s)
    if user is None:
        return None
    lang = request.session.get("lang")
    # A new session on login, so a token planted before login is worth nothing after it.
    request.session.clear()
    if isinstance(lang, str):
        request.session["lang"] = lang
    request.session["uid"] = user.id
    request.session["pw"] = _pw_stamp(user.password_hash)
    csrf_token(request)
    log.info("dashboard: %s logged in", user.username)
    return user


def log_out(request: Request) -> None:
    """Forget the session (the language choice stays)."""
    lang = request.session.get("lang")
    request.session.clear()
    if isinstance(lang, str):
        request.session["lang"] = lang


def login_redirect_target(next_path: str) -> str:
    """The /login URL that brings the user back to `next_path`."""
    return "/login?next=" + quote(next_path, safe="")


def safe_next(value: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _pw_stamp(password_hash: str) -> str:
    # A short digest of the password hash: changing the password ends other sessions.
    return hmac.new(b"session", password_hash.encode(), "sha256").hexdigest()[:16]


__all__ = [
    "CsrfRefused",
    "DashUser",
    "LoginRequired",
    "TooManyAttempts",
    "UserDep",
    "check_csrf",
    "csrf_token",
    "current_user",
    "log_in",
    "log_out",
    "signed_in_user",
]
