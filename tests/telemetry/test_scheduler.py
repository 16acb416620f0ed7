"""Scheduled work on a real database (and the real broker for reminders): loan flags,
automatic return reminders sent once, health retention rolled up into daily figures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import paho.mqtt.client as mqtt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.report import Battery, Command, commands_topic
from server.broker import MosquittoBroker
from server.commands import publish_command
from server.core.config import Settings
from server.dynsec import DynsecClient
from server.health_retention import roll_up_old_reports
from server.models import (
    Borrower,
    Device,
    Digibank,
    Flag,
    HealthDaily,
    HealthReportRow,
    Loan,
    Location,
    Municipality,
)
from server.scheduler import run_loan_rules, send_reminders
from server.timeutil import BRUSSELS
from tests.mqtt_broker import Received, close, connect, subscribe
from tests.telemetry.fleet import make_devices, report

NOW = datetime(2026, 6, 15, 10, tzinfo=UTC)
TODAY = NOW.astimezone(BRUSSELS).date()


def lend(
    factory: sessionmaker[Session], device_id: int, due: date, point_name: str = "Digipunt Bib Oost"
) -> int:
    """An active loan of the device from a digipunt; its id."""
    with factory() as s:
        bank = Digibank(name=f"bank-{uuid.uuid4().hex[:6]}")
        town = Municipality(name=f"town-{uuid.uuid4().hex[:6]}", digibank=bank)
        s.add_all([bank, town])
        s.flush()
        point = s.scalar(select(Location).where(Location.name == point_name))
        if point is None:
            point = Location(kind="digipunt", name=point_name, municipality_id=town.id)
        borrower = Borrower(ref=f"b-{uuid.uuid4().hex[:8]}", adult=True, digibank_id=bank.id)
        s.add_all([point, borrower])
        s.flush()
        loan = Loan(
            device_id=device_id,
            borrower_id=borrower.id,
            location_id=point.id,
            started_at=NOW - timedelta(days=20),
            due_date=due,
        )
        s.add(loan)
        s.commit()
        return loan.id


def flags_of(factory: sessionmaker[Session], device_id: int) -> dict[str, Flag]:
    with factory() as s:
        return {f.reason: f for f in s.scalars(select(Flag).where(Flag.device_id == device_id))}


def test_loan_rules_raise_due_soon_then_overdue_and_resolve_on_return(
    factory: sessionmaker[Session], tsettings: Settings
) -> None:
    dev, quiet = make_devices(factory, 2)
    with factory() as s:
        device = s.get(Device, dev)
        assert device is not None
        device.last_seen_at = NOW - timedelta(hours=1)
        s.commit()
    loan_id = lend(factory, dev, TODAY + timedelta(days=5))
    lend(factory, quiet, TODAY + timedelta(days=30))  # never reported, lent 20 days ago
    with factory() as s:
        run_loan_rules(s, tsettings, NOW)
        s.commit()
    due = flags_of(factory, dev)["due_soon"]
    assert (due.kind, due.severity, due.status) == ("return", "info", "open")
    assert due.evidence == {"due_date": (TODAY + timedelta(days=5)).isoformat(), "days_left": 5}
    assert flags_of(factory, quiet)["silent_on_loan"].severity == "critical"
    # Six days later it is overdue: the due-soon flag closes, an overdue flag opens.
    later = NOW + timedelta(days=6)
    with factory() as s:
        run_loan_rules(s, tsettings, later)
        s.commit()
    flags = flags_of(factory, dev)
    assert flags["due_soon"].status == "resolved"
    assert flags["overdue"].status == "open" and flags["overdue"].evidence["days_overdue"] == 1
    # Running again changes nothing: still one unresolved flag per reason.
    with factory() as s:
        run_loan_rules(s, tsettings, later)
        s.commit()
        assert s.scalars(select(Flag).where(Flag.device_id == dev)).all().__len__() == 2
    with factory() as s:
        loan = s.get(Loan, loan_id)
        assert loan is not None
        loan.returned_at = later
        s.commit()
    with factory() as s:
        run_loan_rules(s, tsettings, later)
        s.commit()
    overdue = flags_of(factory, dev)["overdue"]
    assert overdue.status == "resolved" and overdue.note and "returned" in overdue.note


def _device_session(mosquitto: MosquittoBroker, device_id: int) -> tuple[mqtt.Client, Received]:
    """The device's own broker account and a connection subscribed to its commands."""
    password = uuid.uuid4().hex
    with DynsecClient(mosquitto.host, mosquitto.port, mosquitto.admin_credentials) as dyn:
        account = dyn.provision_device(str(device_id), password)
    client, received = connect(
        mosquitto.host, mosquitto.port, account.username, password, client_id=account.client_id
    )
    subscribe(client, commands_topic(str(device_id)))
    return client, received


def test_return_reminder_reaches_the_device_once(
    factory: sessionmaker[Session], tsettings: Settings, mosquitto: MosquittoBroker
) -> None:
    dev, later_dev = make_devices(factory, 2)
    lend(factory, dev, TODAY + timedelta(days=3))
    lend(factory, later_dev, TODAY + timedelta(days=4))  # outside the 3-day window
    client, received = _device_session(mosquitto, dev)
    try:
        assert send_reminders(factory, tsettings, NOW, publish_command) == 1
        (msg,) = received.wait_for(1, timeout=5)
        command = Command.from_json(msg.payload)
        assert command.type == "notify"
        assert command.message and "Digipunt Bib Oost" in command.message
        assert (TODAY + timedelta(days=3)).strftime("%d/%m/%Y") in command.message
        # Once per loan: the next run sends nothing.
        assert send_reminders(factory, tsettings, NOW + timedelta(hours=1), publish_command) == 0
        assert len(received.wait_for(2, timeout=1)) == 1
    finally:
        close(client)
    with factory() as s:
        reminded = dict(s.execute(select(Loan.device_id, Loan.reminded_at)).tuples().all())
    assert reminded[dev] == NOW and reminded[later_dev] is None


def test_a_reminder_the_broker_did_not_take_is_retried(
    factory: sessionmaker[Session], tsettings: Settings
) -> None:
    (dev,) = make_devices(factory, 1)
    lend(factory, dev, TODAY + timedelta(days=1))
    unreachable = tsettings.model_copy(update={"mqtt_port": 1})
    assert send_reminders(factory, unreachable, NOW, publish_command) == 0
    with factory() as s:
        assert s.scalar(select(Loan.reminded_at)) is None


def test_old_reports_roll_up_into_daily_figures(
    factory: sessionmaker[Session], tsettings: Settings
) -> None:
    (dev,) = make_devices(factory, 1)
    old = NOW - timedelta(days=tsettings.health_retention_days + 2)
    rows = [
        (1, old, 90.0, 40.0),
        (2, old + timedelta(hours=1), 80.0, 30.0),
        (3, old + timedelta(hours=2), 85.0, 70.0),
        (4, NOW - timedelta(days=1), 60.0, 20.0),  # recent: stays raw
    ]
    with factory() as s:
        for seq, at, health, charge in rows:
            payload = report(
                dev, seq, measured_at=at, battery=Battery(health_pct=health, charge_pct=charge)
            )
            s.add(
                HealthReportRow(
                    device_id=dev,
                    seq=seq,
                    measured_at=at,
                    received_at=at,
                    payload=payload.to_dict(),
                )
            )
        s.commit()
    with factory() as s:
        assert roll_up_old_reports(s, tsettings.health_retention_days, NOW) == 3
        s.commit()
    with factory() as s:
        assert roll_up_old_reports(s, tsettings.health_retention_days, NOW) == 0
        assert list(s.scalars(select(HealthReportRow.seq))) == [4]
        daily = s.scalars(select(HealthDaily)).one()
        assert daily.day == old.astimezone(BRUSSELS).date()
        assert daily.reports == 3
        assert daily.battery_health_pct == 80.0
        assert daily.battery_charge_min == 30.0
        assert daily.temperature_max == 52.0
        assert daily.disk_wear_pct_max == 4.0
