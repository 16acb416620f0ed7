"""Dependencies shared by the API routes: the database session, settings and the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from server.core.config import Settings
from server.core.db import writing
from server.security import Principal, principal_for_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _request_session(request: Request, *, write: bool) -> Iterator[Session]:
    factory = request.app.state.sessionmaker
    with factory() as session:
        if write:
            writing(session)
        try:
            yield session
        except BaseException:
            session.rollback()
            raise


def get_session(request: Request) -> Iterator[Session]:
    """A session per request, committed by the route; writers (non-GET) lock up front."""
    yield from _request_session(request, write=request.method not in ("GET", "HEAD", "OPTIONS"))


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_read_first_session(request: Request) -> Iterator[Session]:
    """A session whose route decides itself when to take the write lock (see `writing`)."""
    yield from _request_session(request, write=False)


SessionDep = Annotated[Session, Depends(get_session)]
ReadFirstSessionDep = Annotated[Session, Depends(get_read_first_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """The caller behind the bearer token; 401 without a valid one."""
    principal = principal_for_token(session, token) if token else None
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="not authenticated: send a valid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def _check_role(principal: Principal, roles: tuple[str, ...]) -> Principal:
    """The principal if its role is one of `roles`; 403 otherwise."""
    if principal.role not in roles:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"role {principal.role!r} may not do this; needs {' or '.join(roles)}",
        )
    return principal


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only the given roles through (403 otherwise)."""

    # async: a pure check needs no trip through the thread pool
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return _check_role(principal, roles)

    return check


STAFF_OR_STATION = ("manager", "technician", "station")
Manager = Annotated[Principal, Depends(require("manager"))]
Staff = Annotated[Principal, Depends(require("manager", "technician"))]
StaffOrStation = Annotated[Principal, Depends(require(*STAFF_OR_STATION))]


async def read_in_one_trip(
    request: Request,
    token: str | None,
    roles: tuple[str, ...],
    work: Callable[[Session, Principal], Response],
) -> Response:
    """A read-only route's blocking work (session, auth, queries, serialising) in one
    worker-thread trip.

    As dependencies (SessionDep, a role) and a sync endpoint, a request makes four trips
    between the event loop and the thread pool, each costing more than a small query. The
    hottest read routes are async and hand everything to one call instead; the token comes
    from `oauth2_scheme` (async, so the OpenAPI docs still show the bearer requirement).
    """

    def run() -> Response:
        with request.app.state.sessionmaker() as session:  # closing rolls the read back
            return work(session, _check_role(get_principal(session, token), roles))

    return await run_in_threadpool(run)
