"""Presence: online, late, silent or missing, from the last-seen time in the database.

The database's last-seen time (set by ingest from each stored report) is the truth; an
agent's retained `online`/`offline` status is only a hint, shown beside it, never trusted
over it (a Last Will can be lost with the broker, a clock cannot lie about a stored report).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.config import Settings
from server.models import Device

NEVER = "never"  # no report yet
ONLINE = "online"  # last report younger than its interval plus the grace period
LATE = "late"  # one or two reports missed
SILENT = "silent"  # three intervals missed
MISSING = "missing"  # silent for missing_days
STATES = (ONLINE, LATE, SILENT, MISSING, NEVER)


@dataclass(frozen=True)
class PresenceRules:
    """The presence thresholds, from the settings."""

    grace_s: int = 300
    missing_days: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> PresenceRules:
        """The thresholds configured in `settings`."""
        return cls(grace_s=settings.presence_grace_s, missing_days=settings.missing_days)


def presence(
    last_seen_at: datetime | None, interval_s: int, now: datetime, rules: PresenceRules
) -> str:
    """The presence state of a device last seen at `last_seen_at` reporting every interval_s."""
    if last_seen_at is None:
        return NEVER
    age = (now - last_seen_at).total_seconds()
    if age >= rules.missing_days * 86400:
        return MISSING
    if age <= interval_s + rules.grace_s:
        return ONLINE
    if age > 3 * interval_s + rules.grace_s:
        return SILENT
    return LATE


def presence_counts(session: Session, rules: PresenceRules, now: datetime) -> dict[str, int]:
    """How many devices (retired ones left out) are in each presence state."""
    counts: Counter[str] = Counter({state: 0 for state in STATES})
    rows = session.execute(
        select(Device.last_seen_at, Device.report_interval_s).where(Device.state != "retired")
    )
    for last_seen_at, interval_s in rows:
        counts[presence(last_seen_at, interval_s, now, rules)] += 1
    return dict(counts)
