"""Log in: OAuth2 password form -> bearer token; log out revokes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select, update

from server.api.deps import ReadFirstSessionDep, SessionDep, SettingsDep, oauth2_scheme
from server.api.schemas import TokenOut
from server.core.db import writing
from server.models import ApiToken
from server.security import check_credentials, hash_token, issue_token
from server.timeutil import utcnow

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, responses={401: {}, 429: {}})
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: ReadFirstSessionDep,
    settings: SettingsDep,
) -> TokenOut:
    """Trade a username and password for a bearer token (rate-limited per account and address)."""
    address = request.client.host if request.client else "unknown"
    keys = [f"user:{form.username.lower()[:128]}", f"addr:{address}"]
    user = check_credentials(
        session,
        form.username,
        form.password,
        keys,
        settings.login_max_failures,
        settings.login_window_s,
    )
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ttl = timedelta(hours=settings.token_ttl_hours)
    writing(session)
    token = issue_token(session, name=user.username, role=user.role, user_id=user.id, ttl=ttl)
    session.commit()
    return TokenOut(access_token=token, expires_at=utcnow() + ttl)


@router.post("/logout", status_code=204, responses={401: {}})
def logout(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> None:
    """Revoke the bearer token used for this request."""
    if (
        not token
        or session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token)))
        is None
    ):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="not authenticated")
    session.execute(
        update(ApiToken).where(ApiToken.token_hash == hash_token(token)).values(revoked_at=utcnow())
    )
    session.commit()
