"""The dashboard's pages (GET): overview, flags, device, loans, digipunten, exports.

The pages proper take only the request and read their own query parameters (a bad value
is ignored, never an error page), so they are plain Starlette routes (`PAGES`, mounted on
the app itself): FastAPI's parameter and dependency machinery and its included-router
matching cost ~0.4 ms a request here, a fifth of the device page's own SQL. The login form,
certificate download and exports use FastAPI's dependencies and stay on `router`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from server.api.deps import SessionDep
from server.dashboard import device_view, exports, loanlist, queries
from server.dashboard.auth import DashUser, UserDep, csrf_token, safe_next
from server.dashboard.i18n import format_datetime, translator
from server.dashboard.page_work import run_page
from server.dashboard.render import SECURITY_HEADERS, language, render
from server.dashboard.rows import flag_rows, timeline_items
from server.models import JobResult
from server.reach import reach, reach_csv
from server.timeutil import local_today, utcnow

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TAG_MAX = 64
"""The loans page's tag filter is cut to this (asset tags are shorter)."""
LIVE_EVERY_S = 10
"""How often the overview refreshes itself (app.state.dashboard_live_s overrides it)."""


def _optional_int(value: str | None) -> int | None:
    """A filter's number, or None when empty or not a number (bad input never crashes)."""
    try:
        number = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    # Beyond 32 bits it is no id or offset of ours (and SQLite would overflow on it).
    return number if number is not None and abs(number) < 2**31 else None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form; a signed-in user goes straight on."""
    if isinstance(request.session.get("uid"), int):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None})


def _overview_context(request: Request, conn: Connection) -> dict[str, object]:
    settings = request.app.state.settings
    data = queries.overview(
        conn,
        now=utcnow(),
        today=local_today(),
        grace_s=settings.presence_grace_s,
        reach_figures=request.app.state.reach_cache.get(),
    )
    live_s = getattr(request.app.state, "dashboard_live_s", LIVE_EVERY_S)
    return {"o": data, "now": utcnow(), "live_every": live_s}


async def overview_page(request: Request) -> Response:
    """Where the fleet stands, at a glance."""
    return await run_page(
        request,
        lambda conn, user: render(
            request, "overview.html", _overview_context(request, conn), user=user
        ),
    )


async def overview_fragment(request: Request) -> Response:
    """The overview's body alone, fetched by the page's script to update itself."""
    return await run_page(
        request,
        lambda conn, user: render(
            request, "_overview_body.html", _overview_context(request, conn), user=user
        ),
    )


async def flags_page(request: Request) -> Response:
    """The flags queue with its filters, a page at a time."""
    query = request.query_params
    kind, reason, status = query.get("kind"), query.get("reason"), query.get("status")
    bank = _optional_int(query.get("digibank"))
    skip = max(0, _optional_int(query.get("offset")) or 0)

    def build(conn: Connection, user: DashUser) -> Response:
        rows, total = queries.flag_queue(
            conn,
            kind=kind,
            reason=reason,
            digibank_id=bank,
            status=status,
            limit=PAGE_SIZE,
            offset=skip,
        )
        lang = language(request)
        back = request.url.path + ("?" + request.url.query if request.url.query else "")
        context = {
            "rows": rows,
            "flag_rows": flag_rows(
                rows,
                translator(lang),
                lambda at: format_datetime(at, lang),
                csrf_token(request),
                back,
            ),
            "total": total,
            "reasons": queries.flag_reasons(conn),
            "digibanks": queries.digibanks(conn),
            "f": {
                "kind": kind or "",
                "reason": reason or "",
                "digibank": bank,
                "status": status or "",
            },
            "pages": _pages(request, skip, total),
        }
        return render(request, "flags.html", context, user=user)

    return await run_page(request, build)


def _pages(request: Request, skip: int, total: int) -> dict[str, object]:
    """Previous/next links keeping the filters, and the range shown."""

    def link(to: int) -> str:
        return (
            str(request.url.include_query_params(offset=to).path)
            + "?"
            + str(request.url.include_query_params(offset=to).query)
        )

    return {
        "first": skip + 1 if total else 0,
        "last": min(total, skip + PAGE_SIZE),
        "prev": link(max(0, skip - PAGE_SIZE)) if skip > 0 else None,
        "next": link(skip + PAGE_SIZE) if skip + PAGE_SIZE < total else None,
    }


async def device_page(request: Request) -> Response:
    """One device: identity, loan, timeline, health plots (a page saying so if there is none)."""
    number = _optional_int(request.path_params["device_id"])

    def build(conn: Connection, user: DashUser) -> Response:
        view = device_view.load(conn, number) if number is not None and number > 0 else None
        if view is None:
            return render(
                request, "error.html", {"message_key": "not_found"}, user=user, status_code=404
            )
        lang = language(request)
        timeline = timeline_items(
            view.timeline, view.device.id, translator(lang), lambda at: format_datetime(at, lang)
        )
        return render(request, "device.html", {"v": view, "timeline": timeline}, user=user)

    return await run_page(request, build)


@router.get("/devices/{device_id}/jobs/{job_id}/certificate")
def certificate(session: SessionDep, user: UserDep, device_id: int, job_id: int) -> Response:
    """A wipe's erasure certificate as recorded (signed JSON, verifiable offline)."""
    job = session.get(JobResult, job_id)
    if job is None or job.device_id != device_id or not job.certificate:
        return Response("no certificate", status_code=404, media_type="text/plain")
    body = json.dumps(job.certificate, indent=2, sort_keys=True)
    name = f"erasure-certificate-device{device_id}-job{job_id}.json"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS}
    return Response(body, media_type="application/json", headers=headers)


async def loans_page(request: Request) -> Response:
    """Active loans, overdue first, with return and extend forms, a page at a time."""
    query = request.query_params
    bank = _optional_int(query.get("digibank"))
    skip = max(0, _optional_int(query.get("offset")) or 0)
    tag = query.get("tag", "")[:TAG_MAX] or None  # no asset tag is longer
    overdue = query.get("overdue")

    def build(conn: Connection, user: DashUser) -> Response:
        rows, total = loanlist.active_loans(
            conn,
            local_today(),
            digibank_id=bank,
            tag=tag,
            overdue_only=bool(overdue),
            limit=PAGE_SIZE,
            offset=skip,
        )
        context = {
            "rows": rows,
            "total": total,
            "today": local_today(),
            "digibanks": queries.digibanks(conn),
            "locations": loanlist.location_choices(conn),
            "f": {"digibank": bank, "tag": tag or "", "overdue": bool(overdue)},
            "pages": _pages(request, skip, total),
        }
        return render(request, "loans.html", context, user=user)

    return await run_page(request, build)


async def digipunten_page(request: Request) -> Response:
    """Stock and loans per digipunt, grouped by municipality."""

    def build(conn: Connection, user: DashUser) -> Response:
        table = queries.place_table(conn, local_today())
        hub = [p for p in table if p.place.kind == "hub"]
        points = [p for p in table if p.place.kind == "digipunt"]
        return render(request, "digipunten.html", {"hub": hub, "points": points}, user=user)

    return await run_page(request, build)


def _csv(lines: Iterator[str], name: str) -> StreamingResponse:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **SECURITY_HEADERS}
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)


def _own_session(request: Request) -> Iterator[Session]:
    # Streams outlive the request's dependencies, so they hold a session of their own.
    with request.app.state.sessionmaker() as session:
        yield session


@router.get("/exports/reach.csv")
def export_reach(request: Request, session: SessionDep, user: UserDep) -> Response:
    """Reach per digibank and municipality (the core's figures, as CSV)."""
    banks, munis = reach(session, request.app.state.settings.reach_target_adults)
    return _csv(iter([reach_csv(banks, munis)]), f"reach-{local_today()}.csv")


@router.get("/exports/devices.csv")
def export_devices(request: Request, user: UserDep) -> Response:
    """Every device with state, grade and place."""

    def lines() -> Iterator[str]:
        for session in _own_session(request):
            yield from exports.devices_csv(session)

    return _csv(lines(), f"devices-{local_today()}.csv")


@router.get("/exports/loans.csv")
def export_loans(request: Request, user: UserDep) -> Response:
    """Every loan, borrowers as pseudonyms only."""
    secret = request.app.state.settings.session_secret()

    def lines() -> Iterator[str]:
        for session in _own_session(request):
            yield from exports.loans_csv(session, secret)

    return _csv(lines(), f"loans-{local_today()}.csv")


PAGES = (
    ("/", overview_page),
    ("/live/overview", overview_fragment),
    ("/flags", flags_page),
    ("/devices/{device_id}", device_page),
    ("/loans", loans_page),
    ("/digipunten", digipunten_page),
)
"""The pages proper: (path, endpoint), each a GET taking only the request."""
