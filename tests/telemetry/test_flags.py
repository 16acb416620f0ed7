"""Flag life on a real database: one unresolved per (device, reason), ack and resolve by a
person with a note, audit events, and evidence refreshed in place."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from server.errors import Conflict
from server.flags import acknowledge, apply_report_findings, raise_or_update, resolve
from server.models import DeviceEvent, Flag
from server.rules import REPORT_REPAIR_REASONS, Finding
from server.timeutil import utcnow
from tests.telemetry.fleet import make_devices

WORN = Finding("repair", "battery_health", "warning", {"health_pct": 75.0})


def test_one_unresolved_flag_per_device_and_reason_is_enforced_by_the_database(
    factory: sessionmaker[Session],
) -> None:
    (dev,) = make_devices(factory, 1)
    with factory() as s:
        raise_or_update(s, dev, WORN, None, utcnow())
        s.commit()
    with factory() as s:
        raise_or_update(s, dev, WORN, None, utcnow())  # as a racing second process would
        with pytest.raises(IntegrityError):
            s.commit()


def test_findings_refresh_the_open_flag_instead_of_opening_another(
    factory: sessionmaker[Session],
) -> None:
    (dev,) = make_devices(factory, 1)
    worse = Finding("repair", "battery_health", "critical", {"health_pct": 55.0})
    with factory() as s:
        open_flags: dict[str, Flag] = {}
        for finding in (WORN, worse):
            apply_report_findings(
                s,
                dev,
                [finding],
                open_flags,
                report_reasons=REPORT_REPAIR_REASONS,
                autoresolve_after=3,
            )
        s.commit()
        (flag,) = s.scalars(select(Flag)).all()
        assert (flag.severity, flag.evidence) == ("critical", {"health_pct": 55.0})


def test_acknowledge_then_resolve_with_actor_note_and_audit(factory: sessionmaker[Session]) -> None:
    (dev,) = make_devices(factory, 1)
    with factory() as s:
        flag = raise_or_update(s, dev, WORN, None, utcnow())
        s.commit()
        acknowledge(s, flag, "tech-anna", "battery ordered")
        s.commit()
        assert (flag.status, flag.acknowledged_by, flag.note) == (
            "acknowledged",
            "tech-anna",
            "battery ordered",
        )
        with pytest.raises(Conflict):
            acknowledge(s, flag, "tech-bert", None)
        resolve(s, flag, "tech-anna", "battery replaced")
        s.commit()
        assert (flag.status, flag.resolved_by, flag.note) == (
            "resolved",
            "tech-anna",
            "battery replaced",
        )
        with pytest.raises(Conflict):
            resolve(s, flag, "tech-anna", None)
        events = s.scalars(select(DeviceEvent.reason).where(DeviceEvent.device_id == dev)).all()
        assert any("acknowledged" in e and "battery ordered" in e for e in events if e)
        assert any("resolved" in e and "battery replaced" in e for e in events if e)
        # Resolved, the reason is free again: a new finding opens a new flag.
        raise_or_update(s, dev, WORN, None, utcnow())
        s.commit()
        assert len(s.scalars(select(Flag)).all()) == 2
