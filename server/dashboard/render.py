"""Page rendering: Jinja2 templates with the language, CSRF token and formatting helpers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from server.dashboard import charts
from server.dashboard.auth import DashUser, csrf_token
from server.dashboard.i18n import (
    format_date,
    format_datetime,
    format_number,
    pick_language,
    translator,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Everything comes from this server: no CDN, no inline script, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates ship with the package: compile each once, never stat its file per render.
    auto_reload=False,
)


def language(request: Request) -> str:
    """The session's language, else the configured default."""
    default = request.app.state.settings.language
    return pick_language(request.session.get("lang"), default)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Show `message` once on the next page."""
    request.session["flash"] = [kind, message]


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: DashUser | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a template with the helpers every page uses."""
    lang = language(request)
    shown = request.session.pop("flash", None)

    def fdate(value: date | datetime | None) -> str:
        return format_date(value, lang)

    def fdt(value: datetime | None) -> str:
        return format_datetime(value, lang)

    def num(value: float | int | None, digits: int = 0) -> str:
        return format_number(value, lang, digits)

    html = _env.get_template(name).render(
        request=request,
        t=translator(lang),
        lang=lang,
        csrf=csrf_token(request),
        user=user,
        flash=shown,
        fdate=fdate,
        fdt=fdt,
        num=num,
        charts=charts,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
