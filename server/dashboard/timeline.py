"""A device's timeline: state changes, diagnostics and wipes, condition records, loans and
flags, read in one statement (a UNION ALL of the five sources, each its newest 200).

One statement instead of five: each costs ~80 µs of driver and SQLAlchemy work on SQLite
and a network round trip on PostgreSQL, more than the few rows it reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)

from server.core.driver_query import DriverQuery
from server.core.sqltypes import UTCDateTime
from server.models import ConditionRecord, DeviceEvent, Flag, JobResult, Loan, Location

PER_SOURCE = 200


@dataclass(frozen=True)
class Entry:
    """One line of a device's timeline."""

    at: datetime
    kind: str  # ev_* text key
    detail: str
    status: str | None = None
    job_id: int | None = None  # set for wipes with a certificate
    flag_id: int | None = None


@dataclass(frozen=True)
class DeviceFlag:
    """One of the device's flags (the page offers actions on the unresolved ones)."""

    id: int
    reason: str
    severity: str
    status: str


_ID = bindparam("device_id", type_=Integer())
_COLUMNS = ("src", "at", "at2", "ref", "kind", "status", "a", "b", "c", "d", "certified")
_NULLS: dict[str, ColumnElement[Any]] = {
    "at2": cast(null(), UTCDateTime()),
    "ref": cast(null(), Integer()),
    "certified": cast(null(), Boolean()),
}


def _part(src: str, **columns: Any) -> list[ColumnElement[Any]]:
    """The select list of one source in the union's column order (typed NULLs elsewhere)."""
    columns["src"] = literal_column(f"'{src}'", String())  # a constant, not a bound value
    return [
        (columns.get(name, _NULLS.get(name, cast(null(), String())))).label(name)
        for name in _COLUMNS
    ]


def _newest(stmt: Any, order: Any) -> Any:
    # Each source's newest rows, as a subquery: a UNION member cannot carry its own LIMIT.
    return select(stmt.order_by(order).limit(PER_SOURCE).subquery())


_TIMELINE = DriverQuery(
    union_all(
        _newest(
            select(
                *_part(
                    "event",
                    at=DeviceEvent.at,
                    kind=DeviceEvent.kind,
                    a=DeviceEvent.from_state,
                    b=DeviceEvent.to_state,
                    c=DeviceEvent.actor,
                    d=DeviceEvent.reason,
                )
            ).where(DeviceEvent.device_id == _ID),
            DeviceEvent.at.desc(),
        ),
        _newest(
            select(
                *_part(
                    "job",
                    at=func.coalesce(JobResult.ended_at, JobResult.started_at),
                    ref=JobResult.id,
                    kind=JobResult.kind,
                    status=JobResult.status,
                    a=JobResult.method,
                    b=JobResult.station,
                    c=JobResult.recorded_by,
                    certified=JobResult.certificate.is_not(None),
                )
            ).where(JobResult.device_id == _ID),
            JobResult.id.desc(),
        ),
        _newest(
            select(
                *_part(
                    "condition",
                    at=ConditionRecord.recorded_at,
                    a=ConditionRecord.cosmetic_grade,
                    b=ConditionRecord.functional_grade,
                    c=ConditionRecord.battery_grade,
                    d=ConditionRecord.technician,
                    status=ConditionRecord.notes,  # text column reused: the notes
                )
            ).where(ConditionRecord.device_id == _ID),
            ConditionRecord.recorded_at.desc(),
        ),
        _newest(
            select(
                *_part(
                    "loan",
                    at=Loan.started_at,
                    at2=Loan.returned_at,
                    ref=Loan.id,
                    a=Location.name,
                    d=Loan.return_condition,
                )
            )
            .join(Location, Location.id == Loan.location_id)
            .where(Loan.device_id == _ID),
            Loan.started_at.desc(),
        ),
        _newest(
            select(
                *_part(
                    "flag",
                    at=Flag.opened_at,
                    ref=Flag.id,
                    kind=Flag.kind,
                    status=Flag.status,
                    a=Flag.reason,
                    b=Flag.severity,
                    d=Flag.note,
                )
            ).where(Flag.device_id == _ID),
            Flag.opened_at.desc(),
        ),
    )
)


def device_timeline(
    conn: Connection, device_id: int, intake_at: datetime
) -> tuple[list[Entry], list[DeviceFlag]]:
    """The timeline, newest first, and the device's flags (newest first) from the same read."""
    entries = [Entry(intake_at, "ev_intake", "")]
    flags: list[tuple[datetime, DeviceFlag]] = []
    for src, at, at2, ref, kind, status, a, b, c, d, certified in _TIMELINE.rows(
        conn, {"device_id": device_id}
    ):
        if src == "event":
            if kind == "transition":
                detail = f"{a or '–'} → {b or '–'} · {c}"
                entries.append(Entry(at, "ev_transition", detail + _note(d)))
            elif kind != "flag":  # flag events duplicate the flag entries
                entries.append(Entry(at, "ev_event", f"{kind} · {c}" + _note(d)))
        elif src == "job":
            wipe = kind == "wipe"
            entries.append(
                Entry(
                    at,
                    "ev_wipe" if wipe else "ev_diagnostics",
                    " · ".join(x for x in (a, b, c) if x),
                    status=status,
                    job_id=ref if wipe and certified else None,
                )
            )
        elif src == "condition":
            battery = f" · battery {c}" if c else ""
            entries.append(Entry(at, "ev_condition", f"{a}/{b}{battery} · {d}" + _note(status)))
        elif src == "loan":
            entries.append(Entry(at, "ev_loan", f"{a} · #{ref}"))
            if at2 is not None:
                entries.append(Entry(at2, "ev_loan_return", f"#{ref}" + _note(d)))
        else:
            entries.append(
                Entry(at, "ev_flag", f"{kind} · {a}" + _note(d), status=status, flag_id=ref)
            )
            flags.append((at, DeviceFlag(ref, a, b, status)))
    entries.sort(key=lambda e: e.at, reverse=True)
    flags.sort(key=lambda f: f[0], reverse=True)
    return entries, [f for _, f in flags]


def _note(text: str | None) -> str:
    return f" · {text}" if text else ""
