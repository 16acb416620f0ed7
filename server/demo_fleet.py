"""A believable fleet for demos and tests: devices across the lifecycle, wipes, loans, borrowers.

Rows are written through the models with the audit events the lifecycle would have written,
so every page and rule sees the same shapes as in production. Deterministic for a seed.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import (
    Borrower,
    ConditionRecord,
    Device,
    DeviceEvent,
    JobResult,
    Loan,
    Location,
)
from server.reach import rebuild_facts
from server.region import seed_region
from server.timeutil import local_today, utcnow

log = logging.getLogger(__name__)

MODELS = [
    ("Lenovo", "ThinkPad T480", "Intel Core i5-8350U", 8, 256),
    ("Lenovo", "ThinkPad X270", "Intel Core i5-7300U", 8, 256),
    ("Dell", "Latitude 5490", "Intel Core i5-8250U", 8, 256),
    ("HP", "EliteBook 840 G5", "Intel Core i5-8350U", 16, 512),
    ("Fujitsu", "Lifebook E548", "Intel Core i3-7130U", 8, 128),
]

# Share of the fleet in each state (the rest is on loan).
STATE_MIX = [
    ("intake", 0.06),
    ("refurbishing", 0.08),
    ("repair", 0.05),
    ("ready", 0.16),
    ("returned", 0.04),
    ("retired", 0.03),
]

ACTOR = "demo"


@dataclass(frozen=True)
class FleetSummary:
    """What was created."""

    devices: int
    on_loan: int
    overdue: int
    due_soon: int
    loaned_device_ids: list[int]


def _certificate(device: Device, ended: datetime, rng: random.Random) -> dict[str, object]:
    # The fields a NIST SP 800-88 Appendix G certificate carries, as the station records them.
    return {
        "certificate_id": f"DEMO-{device.id:06d}-{rng.randrange(16**6):06x}",
        "media": {"type": "SSD", "serial": device.serial, "model": device.model},
        "sanitization": {"method": "Clear", "technique": "overwrite + verify", "passes": 1},
        "verification": "full read-back, all zero",
        "completed_at": ended.isoformat(),
        "performed_by": ACTOR,
        "signature": None,
        "note": "demo data: not a real erasure",
    }


def seed_fleet(session: Session, devices: int = 300, seed: int = 7) -> FleetSummary:
    """Seed the region (if needed) and `devices` devices with their history; commits nothing."""
    rng = random.Random(seed)
    seed_region(session)
    hub = session.scalar(select(Location).where(Location.kind == "hub"))
    points = list(session.scalars(select(Location).where(Location.kind == "digipunt")))
    assert hub is not None and points, "the region must have a hub and digipunten"
    now = utcnow()
    today = local_today()
    start = session.scalar(select(Device.id).order_by(Device.id.desc()).limit(1)) or 0
    loaned: list[int] = []
    overdue = soon = 0
    for i in range(devices):
        make, model, cpu, ram, disk = rng.choice(MODELS)
        state = _pick_state(rng)
        intake = now - timedelta(days=rng.randint(20, 400), minutes=rng.randint(0, 1440))
        place = (
            hub if state in ("intake", "refurbishing", "repair", "retired") else rng.choice(points)
        )
        device = Device(
            asset_tag=f"DB-{start + i + 1:05d}",
            kind="laptop",
            make=make,
            model=model,
            serial=f"SN{rng.randrange(10**9):09d}",
            cpu=cpu,
            ram_gb=ram,
            storage_gb=disk,
            state=state,
            location_id=place.id,
            grade=rng.choice("AABBC") if state not in ("intake", "refurbishing") else None,
            intake_at=intake,
            created_at=intake,
        )
        session.add(device)
        session.flush()
        _history(session, device, state, intake, rng)
        if state == "on_loan":
            kind = _loan(session, device, place, now, today, rng)
            loaned.append(device.id)
            overdue += kind == "overdue"
            soon += kind == "soon"
    session.flush()
    rebuild_facts(session)  # the fleet's loans were written directly, not lent
    log.info("demo fleet: %d devices, %d on loan (%d overdue)", devices, len(loaned), overdue)
    return FleetSummary(devices, len(loaned), overdue, soon, loaned)


def _pick_state(rng: random.Random) -> str:
    x = rng.random()
    for state, share in STATE_MIX:
        if x < share:
            return state
        x -= share
    return "on_loan"


def _history(
    session: Session, device: Device, state: str, intake: datetime, rng: random.Random
) -> None:
    """Audit events, diagnostics, a wipe and a condition record matching the device's state."""
    path = {
        "intake": [],
        "refurbishing": ["refurbishing"],
        "repair": ["refurbishing", "repair"],
        "ready": ["refurbishing", "ready"],
        "on_loan": ["refurbishing", "ready", "on_loan"],
        "returned": ["refurbishing", "ready", "on_loan", "returned"],
        "retired": ["refurbishing", "retired"],
    }[state]
    at = intake
    previous = "intake"
    for step in path:
        at += timedelta(hours=rng.randint(2, 72))
        if step in ("ready", "retired"):
            _wipe_and_condition(session, device, at, rng)
        session.add(
            DeviceEvent(
                device_id=device.id,
                at=at,
                actor=ACTOR,
                kind="transition",
                from_state=previous,
                to_state=step,
                reason="demo history",
            )
        )
        previous = step


def _wipe_and_condition(session: Session, device: Device, at: datetime, rng: random.Random) -> None:
    started = at - timedelta(hours=3)
    session.add(
        JobResult(
            device_id=device.id,
            kind="diagnostics",
            status="passed",
            started_at=started - timedelta(hours=1),
            ended_at=started,
            method="smart+memtest",
            details={},
            station="station-1",
            recorded_by=ACTOR,
            recorded_at=started,
        )
    )
    session.add(
        JobResult(
            device_id=device.id,
            kind="wipe",
            status="passed",
            started_at=started,
            ended_at=at,
            method="clear-overwrite",
            details={"passes": 1},
            certificate=_certificate(device, at, rng),
            station="station-1",
            recorded_by=ACTOR,
            recorded_at=at,
        )
    )
    health = round(rng.uniform(62, 98), 1)
    session.add(
        ConditionRecord(
            device_id=device.id,
            cosmetic_grade=device.grade or "B",
            functional_grade="A",
            battery_grade="ok" if health > 80 else "weak",
            battery_health_pct=health,
            checklist={"keyboard": True, "screen": True},
            notes=None,
            technician=ACTOR,
            recorded_at=at,
        )
    )


def _loan(
    session: Session,
    device: Device,
    place: Location,
    now: datetime,
    today: date,
    rng: random.Random,
) -> str:
    """An active loan: one in eight overdue, one in six due within a week, the rest later."""
    assert place.municipality is not None
    borrower = Borrower(
        ref=f"demo-{device.id}-{rng.randrange(10**6)}",
        adult=rng.random() < 0.85,
        digibank_id=place.municipality.digibank_id,
    )
    session.add(borrower)
    session.flush()
    x = rng.random()
    kind = "overdue" if x < 0.125 else "soon" if x < 0.29 else "later"
    offset = {
        "overdue": -rng.randint(1, 30),
        "soon": rng.randint(0, 6),
        "later": rng.randint(8, 90),
    }
    due = today + timedelta(days=offset[kind])
    started = now - timedelta(days=rng.randint(14, 120))
    session.add(
        Loan(
            device_id=device.id,
            borrower_id=borrower.id,
            location_id=place.id,
            started_at=started,
            due_date=due,
        )
    )
    return kind
