"""Time helpers: the server keeps every moment as an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


def utcnow() -> datetime:
    """The current moment, aware, in UTC."""
    return datetime.now(UTC)


def local_today() -> date:
    """Today's date in Brussels, where due dates are meant."""
    return datetime.now(BRUSSELS).date()
