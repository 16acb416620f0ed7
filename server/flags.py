"""Flags: findings become flags (one open per device and reason), acknowledged and resolved.

The partial unique index on flags keeps one unresolved flag per (device, reason) whatever
the races; these functions never commit, the caller's transaction does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from server.errors import Conflict
from server.models import DeviceEvent, Flag
from server.rules import REPAIR, Finding
from server.timeutil import utcnow

log = logging.getLogger(__name__)

SYSTEM = "system"


def unresolved_flags(session: Session, device_ids: Iterable[int]) -> dict[int, dict[str, Flag]]:
    """Open or acknowledged flags of these devices, by device id then reason."""
    ids = list(device_ids)
    out: dict[int, dict[str, Flag]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = session.scalars(
        select(Flag)
        .options(lazyload(Flag.device))  # the device row is the caller's; skip its join
        .where(Flag.device_id.in_(ids), Flag.status != "resolved")
    )
    for flag in rows:
        out[flag.device_id][flag.reason] = flag
    return out


def raise_or_update(
    session: Session, device_id: int, finding: Finding, existing: Flag | None, now: datetime
) -> Flag:
    """Open a flag for `finding`, or refresh the evidence and severity of the open one."""
    if existing is None:
        flag = Flag(
            device_id=device_id,
            kind=finding.kind,
            reason=finding.reason,
            severity=finding.severity,
            evidence=finding.evidence,
            status="open",
            opened_at=now,
            updated_at=now,
            clear_streak=0,
        )
        session.add(flag)
        session.add(_event(device_id, now, SYSTEM, f"flag opened: {finding.reason}"))
        log.info("device %s: %s flag %s opened", device_id, finding.kind, finding.reason)
        return flag
    if (
        existing.evidence != finding.evidence
        or existing.severity != finding.severity
        or existing.clear_streak
    ):
        existing.evidence = finding.evidence
        existing.severity = finding.severity
        existing.clear_streak = 0
        existing.updated_at = now
    return existing


def apply_report_findings(
    session: Session,
    device_id: int,
    findings: list[Finding],
    unresolved: dict[str, Flag],
    *,
    report_reasons: frozenset[str],
    autoresolve_after: int,
    now: datetime | None = None,
) -> None:
    """Apply one report's findings; count good reports towards closing absent repair flags.

    `unresolved` (reason -> flag) is updated in place so the next report of the same device
    in a batch sees the new state.
    """
    now = now or utcnow()
    seen = set()
    for finding in findings:
        seen.add(finding.reason)
        unresolved[finding.reason] = raise_or_update(
            session, device_id, finding, unresolved.get(finding.reason), now
        )
    for reason, flag in list(unresolved.items()):
        if reason in seen or reason not in report_reasons or flag.kind != REPAIR:
            continue
        flag.clear_streak = (flag.clear_streak or 0) + 1
        flag.updated_at = now
        if flag.clear_streak >= autoresolve_after:
            note = f"resolved automatically: cause absent from {flag.clear_streak} reports in a row"
            _close(session, flag, SYSTEM, note, now)
            del unresolved[reason]


def apply_scheduled_findings(
    session: Session,
    device_id: int,
    findings: list[Finding],
    unresolved: dict[str, Flag],
    *,
    scope: frozenset[str],
    gone_note: str,
    now: datetime | None = None,
) -> None:
    """Apply a scheduled rule's findings; flags in `scope` whose cause is gone are resolved."""
    now = now or utcnow()
    seen = {f.reason for f in findings}
    for finding in findings:
        unresolved[finding.reason] = raise_or_update(
            session, device_id, finding, unresolved.get(finding.reason), now
        )
    for reason, flag in list(unresolved.items()):
        if reason in scope and reason not in seen:
            _close(session, flag, SYSTEM, gone_note, now)
            del unresolved[reason]


def acknowledge(session: Session, flag: Flag, actor: str, note: str | None) -> Flag:
    """Mark an open flag as seen by `actor`; Conflict if it is already resolved."""
    if flag.status == "resolved":
        raise Conflict(f"flag {flag.id} is already resolved")
    if flag.status == "acknowledged":
        raise Conflict(f"flag {flag.id} was already acknowledged by {flag.acknowledged_by}")
    now = utcnow()
    flag.status = "acknowledged"
    flag.acknowledged_at = now
    flag.acknowledged_by = actor
    if note:
        flag.note = note
    flag.updated_at = now
    session.add(_event(flag.device_id, now, actor, f"flag acknowledged: {flag.reason}", note))
    return flag


def resolve(session: Session, flag: Flag, actor: str, note: str | None) -> Flag:
    """Close a flag by hand; Conflict if it is already resolved."""
    if flag.status == "resolved":
        raise Conflict(f"flag {flag.id} is already resolved")
    _close(session, flag, actor, note, utcnow())
    return flag


def _close(session: Session, flag: Flag, actor: str, note: str | None, now: datetime) -> None:
    flag.status = "resolved"
    flag.resolved_at = now
    flag.resolved_by = actor
    if note:
        flag.note = note
    flag.updated_at = now
    session.add(_event(flag.device_id, now, actor, f"flag resolved: {flag.reason}", note))
    log.info("device %s: flag %s resolved by %s", flag.device_id, flag.reason, actor)


def _event(
    device_id: int, now: datetime, actor: str, what: str, note: str | None = None
) -> DeviceEvent:
    reason = f"{what} ({note})" if note else what
    return DeviceEvent(device_id=device_id, at=now, actor=actor, kind="flag", reason=reason)
