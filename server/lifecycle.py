"""The device lifecycle: the one state machine, its guards and its audit trail.

    intake -> refurbishing -> ready -> on_loan -> returned -> refurbishing ...
                  |  ^          |                   |
                  v  |          v                   v
                 repair <-------+------------------ +
    any state -> retired   (only with an erasure certificate or a destruction record)

Every change of state goes through `transition`, which checks the table and the guards
and writes an audit event. `on_loan` and `returned` are reached through loans only.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import Conflict
from server.models import DestructionRecord, Device, DeviceEvent, JobResult, Loan
from server.timeutil import utcnow

STATES = ("intake", "refurbishing", "repair", "ready", "on_loan", "returned", "retired")

ALLOWED: dict[str, frozenset[str]] = {
    "intake": frozenset({"refurbishing", "retired"}),
    "refurbishing": frozenset({"ready", "repair", "retired"}),
    "repair": frozenset({"refurbishing", "retired"}),
    "ready": frozenset({"on_loan", "repair", "retired"}),
    "on_loan": frozenset({"returned", "retired"}),
    "returned": frozenset({"refurbishing", "repair", "retired"}),
    "retired": frozenset(),
}

LOAN_ONLY = {
    "on_loan": "a device goes on loan by lending it: POST /api/v1/loans",
    "returned": "a device comes back by returning its loan: POST /api/v1/loans/{id}/return",
}


def allowed_from(state: str) -> list[str]:
    """The states reachable from `state`, in lifecycle order."""
    return [s for s in STATES if s in ALLOWED.get(state, frozenset())]


def transition(
    session: Session,
    device: Device,
    to: str,
    *,
    actor: str,
    reason: str | None,
    via_loan: bool = False,
) -> DeviceEvent:
    """Move `device` to state `to` if the table and guards allow it; Conflict otherwise."""
    if to not in STATES:
        raise Conflict(f"unknown state {to!r}; states are {', '.join(STATES)}")
    current = device.state
    if to not in ALLOWED[current]:
        allowed = allowed_from(current)
        raise Conflict(
            f"cannot go from {current} to {to}; allowed from {current}: "
            + (", ".join(allowed) if allowed else "none (final state)")
        )
    if to in LOAN_ONLY and not via_loan:
        raise Conflict(f"cannot go from {current} to {to} directly: {LOAN_ONLY[to]}")
    if to == "ready":
        _guard_ready(session, device)
    if to == "retired":
        _guard_retired(session, device)
    event = DeviceEvent(
        device_id=device.id,
        at=utcnow(),
        actor=actor,
        kind="transition",
        from_state=current,
        to_state=to,
        reason=reason,
    )
    device.state = to
    session.add(event)
    return event


def last_restart(session: Session, device: Device) -> object:
    """The moment the device's current round began: its intake or the end of its last loan."""
    last_loan = session.scalar(
        select(Loan.returned_at)
        .where(Loan.device_id == device.id, Loan.returned_at.is_not(None))
        .order_by(Loan.returned_at.desc())
        .limit(1)
    )
    return max(device.intake_at, last_loan) if last_loan else device.intake_at


def _guard_ready(session: Session, device: Device) -> None:
    """`ready` needs a passed wipe after the last loan or intake, and no later failed one."""
    since = last_restart(session, device)
    latest = session.scalar(
        select(JobResult)
        .where(
            JobResult.device_id == device.id,
            JobResult.kind == "wipe",
            JobResult.recorded_at >= since,
        )
        .order_by(JobResult.recorded_at.desc(), JobResult.id.desc())
        .limit(1)
    )
    if latest is None:
        raise Conflict(
            "cannot become ready: no wipe recorded since the last intake or loan; "
            "record a passed wipe first (POST /api/v1/devices/{id}/jobs)"
        )
    if latest.status != "passed":
        raise Conflict(
            f"cannot become ready: the latest wipe (job {latest.id}) is {latest.status}; "
            "a failed or interrupted wipe must be followed by a passed one"
        )


def _guard_retired(session: Session, device: Device) -> None:
    """`retired` needs an erasure certificate (a passed wipe with one) or a destruction record."""
    has_cert = session.scalar(
        select(JobResult.id)
        .where(
            JobResult.device_id == device.id,
            JobResult.kind == "wipe",
            JobResult.status == "passed",
            JobResult.certificate.is_not(None),
        )
        .limit(1)
    )
    destroyed = session.scalar(
        select(DestructionRecord.id).where(DestructionRecord.device_id == device.id).limit(1)
    )
    if not has_cert and not destroyed:
        raise Conflict(
            "cannot retire: needs an erasure certificate (a passed wipe with its certificate) "
            "or a destruction record (POST /api/v1/devices/{id}/destruction)"
        )
