"""Passwords (argon2id), bearer tokens (random, stored as SHA-256) and the login limit."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from server.core.db import writing
from server.errors import TooManyAttempts
from server.models import ApiToken, LoginFailure, User
from server.timeutil import utcnow

_hasher = PasswordHasher()
ROLES = ("manager", "technician")
TOKEN_ROLES = ("manager", "technician", "station")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (by name) or a station token, with its role."""

    name: str
    role: str
    user_id: int | None = None


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches; constant-time, never raises on a bad hash."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    """SHA-256 of a bearer token (tokens are long random strings, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret(nbytes: int = 32) -> str:
    """A URL-safe random secret."""
    return secrets.token_urlsafe(nbytes)


def issue_token(
    session: Session,
    *,
    name: str,
    role: str,
    user_id: int | None,
    ttl: timedelta | None,
) -> str:
    """Create a token, store its hash, return the token itself (shown once)."""
    token = "dgb_" + new_secret()
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            name=name,
            role=role,
            user_id=user_id,
            expires_at=utcnow() + ttl if ttl else None,
        )
    )
    return token


# Built once: every API request runs it, and building a statement costs more than running it.
_TOKEN_LOOKUP = (
    select(
        ApiToken.role,
        ApiToken.name,
        ApiToken.expires_at,
        ApiToken.user_id,
        User.username,
        User.role,
        User.active,
    )
    .outerjoin(User, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The principal a bearer token stands for, or None if unknown, expired or revoked."""
    found = session.execute(_TOKEN_LOOKUP, {"token_hash": hash_token(token)}).first()
    if found is None:
        return None
    role, name, expires_at, user_id, username, user_role, active = found
    if expires_at is not None and expires_at <= utcnow():
        return None
    if user_id is not None:
        if not active:
            return None
        return Principal(name=username, role=user_role, user_id=user_id)
    return Principal(name=name, role=role)


def check_login_allowed(session: Session, keys: list[str], limit: int, window_s: int) -> None:
    """Refuse with TooManyAttempts when any key (account, address) has too many recent failures."""
    since = utcnow() - timedelta(seconds=window_s)
    for key in keys:
        n = session.scalar(
            select(func.count()).where(LoginFailure.key == key, LoginFailure.at > since)
        )
        if (n or 0) >= limit:
            raise TooManyAttempts(f"too many failed logins; try again in {window_s // 60 or 1} min")


def record_login_failure(session: Session, keys: list[str], window_s: int) -> None:
    """Remember a failed login for each key, and forget failures older than the window."""
    now = utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(seconds=window_s)))
    for key in keys:
        session.add(LoginFailure(key=key, at=now))


def check_credentials(
    session: Session, username: str, password: str, keys: list[str], limit: int, window_s: int
) -> User | None:
    """Login under the failed-login limit: the user, or None (the failure is recorded).

    The slow password hash runs in a read transaction; only recording the failure takes
    the write lock, so logins do not hold up ingest on SQLite.
    """
    check_login_allowed(session, keys, limit, window_s)
    user = authenticate(session, username, password)
    session.rollback()  # end the read transaction before writing
    if user is None:
        writing(session)
        record_login_failure(session, keys, window_s)
        session.commit()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work whether the user exists)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        # Spend the same time as a real check so timing does not reveal user names.
        verify_password(_DUMMY_HASH, password)
        return None
    if not user.active or not verify_password(user.password_hash, password):
        return None
    return user


_DUMMY_HASH = _hasher.hash("not-a-password")
