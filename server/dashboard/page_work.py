"""A dashboard page's blocking work (connection, sign-in check, queries, rendering) in one trip.

Written as FastAPI dependencies (the session generator, the user check) and a sync
endpoint, a page makes four trips between the event loop and the thread pool (the
session's enter and exit, the user, the endpoint), each a thread wake-up that costs
more than a page's small queries on a busy hub. An async endpoint hands the whole page
to one worker-thread call instead.

Pages only read, so they read on a plain Connection: an ORM Session (its transaction
bookkeeping, identity map and close) cost ~0.3 ms a page, and no page loads an ORM object.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from server.dashboard.auth import DashUser, signed_in_user

PageBuild = Callable[[Connection, DashUser], Response]


async def run_page(request: Request, build: PageBuild) -> Response:
    """`build(conn, user)` in a worker thread with a fresh connection and the signed-in user.

    Raises LoginRequired (turned into a redirect to /login) without a valid session.
    """
    return await run_in_threadpool(_run, request, build)


def _run(request: Request, build: PageBuild) -> Response:
    with request.app.state.engine.connect() as conn:  # closing rolls the read back
        # The sign-in check and the page read in one transaction (pages only read).
        return build(conn, signed_in_user(request, conn))
