"""The hub managers' dashboard: server-rendered pages, session sign-in, no external assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from server.core.config import Settings

STATIC = Path(__file__).resolve().parent / "static"


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the dashboard's pages, static files, session cookie and error pages to `app`."""
    from server.dashboard import actions, routes
    from server.dashboard.auth import (
        SESSION_COOKIE,
        SESSION_MAX_AGE_S,
        CsrfRefused,
        LoginRequired,
        login_redirect_target,
    )
    from server.dashboard.reach_cache import ReachCache
    from server.dashboard.render import render

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
        https_only=False,  # hubs often serve plain HTTP on a closed network
    )
    app.state.reach_cache = ReachCache(app.state.sessionmaker, settings.reach_target_adults)
    for path, endpoint in routes.PAGES:
        app.add_route(path, endpoint, methods=["GET"], include_in_schema=False)
    app.include_router(routes.router)
    app.include_router(actions.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")

    async def _login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(login_redirect_target(exc.next_path), status_code=303)

    async def _csrf(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", {"message_key": "csrf_failed"}, status_code=403)

    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRefused, _csrf)
