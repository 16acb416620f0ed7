"""The dashboard's pages (GET): overview, flags, device, loans, digipunten, exports."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
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


def _overview_context(request: Request, session: Session) -> dict[str, object]:
    settings = request.app.state.settings
    data = queries.overview(
        session,
        now=utcnow(),
        today=local_today(),
        grace_s=settings.presence_grace_s,
        reach_figures=request.app.state.reach_cache.get(),
    )
    live_s = getattr(request.app.state, "dashboard_live_s", LIVE_EVERY_S)
    return {"o": data, "now": utcnow(), "live_every": live_s}


@router.get("/", response_class=HTMLResponse)
async def overview_page(request: Request) -> Response:
    """Where the fleet stands, at a glance."""
    return await run_page(
        request,
        lambda session, user: render(
            request, "overview.html", _overview_context(request, session), user=user
        ),
    )


@router.get("/live/overview", response_class=HTMLResponse)
async def overview_fragment(request: Request) -> Response:
    """The overview's body alone, fetched by the page's script to update itself."""
    return await run_page(
        request,
        lambda session, user: render(
            request, "_overview_body.html", _overview_context(request, session), user=user
        ),
    )


@router.get("/flags", response_class=HTMLResponse)
async def flags_page(
    request: Request,
    kind: str | None = None,
    reason: str | None = None,
    digibank: str | None = None,
    status: str | None = None,
    offset: str | None = None,
) -> Response:
    """The flags queue with its filters, a page at a time."""
    bank = _optional_int(digibank)
    skip = max(0, _optional_int(offset) or 0)

    def build(session: Session, user: DashUser) -> Response:
        rows, total = queries.flag_queue(
            session,
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
            "reasons": queries.flag_reasons(session),
            "digibanks": queries.digibanks(session),
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


@router.get("/devices/{device_id}", response_class=HTMLResponse)
async def device_page(request: Request, device_id: str) -> Response:
    """One device: identity, loan, timeline, health plots (a page saying so if there is none)."""
    number = _optional_int(device_id)

    def build(session: Session, user: DashUser) -> Response:
        view = device_view.load(session, number) if number is not None and number > 0 else None
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


@router.get("/loans", response_class=HTMLResponse)
async def loans_page(
    request: Request,
    digibank: str | None = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    overdue: str | None = None,
    offset: str | None = None,
) -> Response:
    """Active loans, overdue first, with return and extend forms, a page at a time."""
    bank = _optional_int(digibank)
    skip = max(0, _optional_int(offset) or 0)

    def build(session: Session, user: DashUser) -> Response:
        rows, total = loanlist.active_loans(
            session,
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
            "digibanks": queries.digibanks(session),
            "locations": loanlist.location_choices(session),
            "f": {"digibank": bank, "tag": tag or "", "overdue": bool(overdue)},
            "pages": _pages(request, skip, total),
        }
        return render(request, "loans.html", context, user=user)

    return await run_page(request, build)


@router.get("/digipunten", response_class=HTMLResponse)
async def digipunten_page(request: Request) -> Response:
    """Stock and loans per digipunt, grouped by municipality."""

    def build(session: Session, user: DashUser) -> Response:
        table = queries.place_table(session, local_today())
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
