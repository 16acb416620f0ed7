"""Users and station tokens (managers only)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from server.api.deps import Manager, SessionDep
from server.api.schemas import PathId, StationTokenIn, StationTokenOut, UserIn, UserOut
from server.errors import Conflict, NotFound
from server.models import ApiToken, User
from server.security import hash_password, issue_token
from server.timeutil import utcnow

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, _: Manager) -> list[User]:
    """All accounts."""
    return list(session.scalars(select(User).order_by(User.username)))


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, _: Manager) -> User:
    """Create a manager or technician account."""
    if session.scalar(select(User.id).where(User.username == body.username)):
        raise Conflict(f"user {body.username!r} exists")
    user = User(username=body.username, password_hash=hash_password(body.password), role=body.role)
    session.add(user)
    session.commit()
    return user


@router.post("/tokens", response_model=StationTokenOut, status_code=201)
def create_station_token(body: StationTokenIn, session: SessionDep, _: Manager) -> StationTokenOut:
    """A long-lived token for a refurbishment station; shown once."""
    token = issue_token(session, name=body.name, role="station", user_id=None, ttl=None)
    session.flush()
    row = session.scalar(select(ApiToken).order_by(ApiToken.id.desc()).limit(1))
    session.commit()
    assert row is not None
    return StationTokenOut(id=row.id, name=body.name, token=token)


@router.post("/tokens/{token_id}/revoke", status_code=204)
def revoke_token(token_id: PathId, session: SessionDep, _: Manager) -> None:
    """Revoke a station token."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} not found")
    row.revoked_at = utcnow()
    session.commit()
