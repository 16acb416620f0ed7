"""The dashboard's forms (POST): sign in and out, language, flag and loan actions.

Every form carries the session's CSRF token; each action calls the same service function
the JSON API uses, then redirects (303) back with a one-time message.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from server import flags as flag_service
from server import loans as loan_service
from server.api.deps import ReadFirstSessionDep, SessionDep
from server.dashboard.auth import UserDep, check_csrf, log_in, log_out, safe_next
from server.dashboard.i18n import pick_language, translator
from server.dashboard.render import flash, language, render
from server.errors import DigibankError, TooManyAttempts
from server.models import Flag, Loan

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
NOTE_MAX = 500


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(safe_next(target), status_code=303)


@router.post("/login")
def login(
    request: Request,
    session: ReadFirstSessionDep,
    username: FormStr = "",
    password: FormStr = "",
    csrf_token: FormStr = "",
    next: FormStr = "/",
) -> Response:
    """Check the credentials; back to the form with a message when they are wrong."""
    check_csrf(request, csrf_token)
    settings = request.app.state.settings
    t = translator(language(request))
    try:
        user = log_in(
            request,
            session,
            username.strip()[:64],
            password[:256],
            settings.login_max_failures,
            settings.login_window_s,
        )
    except TooManyAttempts:
        context = {"next": safe_next(next), "error": t("too_many")}
        return render(request, "login.html", context, status_code=429)
    if user is None:
        context = {"next": safe_next(next), "error": t("login_failed")}
        return render(request, "login.html", context, status_code=401)
    return _back(next)


@router.post("/logout")
def logout(request: Request, csrf_token: FormStr = "") -> Response:
    """End the session."""
    check_csrf(request, csrf_token)
    log_out(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def set_language(
    request: Request, lang: FormStr = "", csrf_token: FormStr = "", back: FormStr = "/"
) -> Response:
    """Switch between Dutch and English for this session."""
    check_csrf(request, csrf_token)
    request.session["lang"] = pick_language(lang, request.app.state.settings.language)
    return _back(back)


def _flag_action(
    request: Request, session: SessionDep, actor: str, flag_id: int, note: str, verb: str
) -> None:
    flag = session.get(Flag, flag_id)
    t = translator(language(request))
    if flag is None:
        flash(request, t("not_found"), "error")
        return
    action = flag_service.acknowledge if verb == "ack" else flag_service.resolve
    try:
        action(session, flag, actor, note.strip()[:NOTE_MAX] or None)
        session.commit()
    except DigibankError as exc:
        session.rollback()
        flash(request, str(exc), "error")
        return
    flash(request, f"{t('done')} {flag.reason} · {flag.device.asset_tag}")


@router.post("/flags/{flag_id}/ack")
def acknowledge_flag(
    request: Request,
    session: SessionDep,
    user: UserDep,
    flag_id: int,
    csrf_token: FormStr = "",
    note: FormStr = "",
    back: FormStr = "/flags",
) -> Response:
    """Acknowledge a flag with an optional note."""
    check_csrf(request, csrf_token)
    _flag_action(request, session, user.username, flag_id, note, "ack")
    return _back(back)


@router.post("/flags/{flag_id}/resolve")
def resolve_flag(
    request: Request,
    session: SessionDep,
    user: UserDep,
    flag_id: int,
    csrf_token: FormStr = "",
    note: FormStr = "",
    back: FormStr = "/flags",
) -> Response:
    """Resolve a flag with an optional note."""
    check_csrf(request, csrf_token)
    _flag_action(request, session, user.username, flag_id, note, "resolve")
    return _back(back)


@router.post("/loans/{loan_id}/return")
def return_loan(
    request: Request,
    session: SessionDep,
    user: UserDep,
    loan_id: int,
    csrf_token: FormStr = "",
    condition: FormStr = "",
    location_id: FormStr = "",
    back: FormStr = "/loans",
) -> Response:
    """Take a loaned device back at a chosen place."""
    check_csrf(request, csrf_token)
    t = translator(language(request))
    loan = session.get(Loan, loan_id)
    if loan is None:
        flash(request, t("not_found"), "error")
        return _back(back)
    try:
        where = int(location_id) if location_id.strip() else None
        loan_service.return_loan(
            session,
            loan,
            actor=user.username,
            condition=condition.strip()[:NOTE_MAX] or None,
            location_id=where,
        )
        session.commit()
    except ValueError:
        flash(request, f"{t('return_location')}: {location_id!r}?", "error")
        return _back(back)
    except DigibankError as exc:
        session.rollback()
        flash(request, str(exc), "error")
        return _back(back)
    flash(request, f"{t('done')} {loan.device.asset_tag}")
    return _back(back)


@router.post("/loans/{loan_id}/extend")
def extend_loan(
    request: Request,
    session: SessionDep,
    user: UserDep,
    loan_id: int,
    csrf_token: FormStr = "",
    due_date: FormStr = "",
    back: FormStr = "/loans",
) -> Response:
    """Move a loan's due date later."""
    check_csrf(request, csrf_token)
    t = translator(language(request))
    loan = session.get(Loan, loan_id)
    if loan is None:
        flash(request, t("not_found"), "error")
        return _back(back)
    try:
        new_due = date.fromisoformat(due_date.strip())
    except ValueError:
        flash(request, f"{t('new_due_date')}: {due_date!r}?", "error")
        return _back(back)
    try:
        loan_service.extend_loan(session, loan, actor=user.username, due_date=new_due)
        session.commit()
    except DigibankError as exc:
        session.rollback()
        flash(request, str(exc), "error")
        return _back(back)
    flash(request, f"{t('done')} {loan.device.asset_tag} → {new_due.isoformat()}")
    return _back(back)
