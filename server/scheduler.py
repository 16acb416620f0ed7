"""Scheduled work beside the API: loan rules, presence, return reminders, retention.

Each job runs in its own transaction and is safe when two API processes run it at once: flags
keep one unresolved per (device, reason) by a unique index, a reminder is claimed by setting
`Loan.reminded_at` where it is still empty before it is sent, retention locks what it folds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from server.commands import CommandError, publish_command, reminder_command
from server.core.config import Settings
from server.core.db import session_scope
from server.flags import apply_scheduled_findings, unresolved_flags
from server.health_retention import roll_up_old_reports
from server.models import Flag, Loan
from server.presence import PresenceRules, presence_counts
from server.retention import erase_expired_borrowers
from server.rules import LOAN_REASONS, Thresholds, evaluate_loan
from server.timeutil import BRUSSELS, utcnow

log = logging.getLogger(__name__)

Sender = Callable[[Settings, int, Any], None]


def run_loan_rules(session: Session, settings: Settings, now: datetime) -> int:
    """Raise, refresh and close the return flags of active loans; returns loans checked."""
    th = Thresholds.from_settings(settings)
    today = now.astimezone(BRUSSELS).date()
    loans = session.scalars(select(Loan).where(Loan.returned_at.is_(None))).unique().all()
    flagged = set(
        session.scalars(
            select(Flag.device_id).where(Flag.status != "resolved", Flag.reason.in_(LOAN_REASONS))
        )
    )
    device_ids = {loan.device_id for loan in loans} | flagged
    flags = unresolved_flags(session, sorted(device_ids))
    for loan in loans:
        findings = evaluate_loan(
            loan.due_date, loan.started_at, loan.device.last_seen_at, today, now, th
        )
        apply_scheduled_findings(
            session,
            loan.device_id,
            findings,
            flags[loan.device_id],
            scope=LOAN_REASONS,
            gone_note="resolved automatically: the cause is gone",
            now=now,
        )
    # Loan flags of devices that no longer have a loan: it was returned.
    for device_id in flagged - {loan.device_id for loan in loans}:
        apply_scheduled_findings(
            session,
            device_id,
            [],
            flags[device_id],
            scope=LOAN_REASONS,
            gone_note="resolved automatically: the loan was returned",
            now=now,
        )
    return len(loans)


def send_reminders(
    factory: sessionmaker[Session], settings: Settings, now: datetime, send: Sender
) -> int:
    """Send each active loan, once, its reminder `reminder_days_before_due` days before due."""
    horizon = now.astimezone(BRUSSELS).date() + timedelta(days=settings.reminder_days_before_due)
    with factory() as session:
        due = session.execute(
            select(Loan.id).where(
                Loan.returned_at.is_(None), Loan.reminded_at.is_(None), Loan.due_date <= horizon
            )
        ).scalars()
        loan_ids = list(due)
    sent = 0
    for loan_id in loan_ids:
        with session_scope(factory) as session:
            # Claim the reminder first: another scheduler that gets here too sees 0 rows.
            claimed = session.execute(
                update(Loan)
                .where(Loan.id == loan_id, Loan.reminded_at.is_(None))
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
            if not getattr(claimed, "rowcount", 0):
                continue
            loan = session.get(Loan, loan_id)
            assert loan is not None
            device_id, command = (
                loan.device_id,
                reminder_command(loan.due_date, loan.location.name, settings.language),
            )
        try:
            send(settings, device_id, command)
            sent += 1
        except CommandError as exc:
            log.warning("reminder for loan %s not sent, will retry: %s", loan_id, exc)
            with session_scope(factory) as session:
                session.execute(
                    update(Loan).where(Loan.id == loan_id).values(reminded_at=None),
                    execution_options={"synchronize_session": False},
                )
    return sent


def run_retention(factory: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Erase borrower references past retention and roll up old health reports."""
    with session_scope(factory) as session:
        erase_expired_borrowers(session, settings.borrower_retention_days, now)
    total = 0
    while True:
        with session_scope(factory) as session:
            n = roll_up_old_reports(session, settings.health_retention_days, now)
        total += n
        if n == 0:
            return total


class SchedulerService:
    """Runs the scheduled jobs every `scheduler_interval_s` in a background thread."""

    name = "scheduler"

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        *,
        send: Sender = publish_command,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.send = send
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.errors = 0
        self.last_run_at: datetime | None = None
        self.presence: dict[str, int] = {}

    def start(self) -> None:
        """Start the background loop (first run at once)."""
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the job in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def health(self) -> dict[str, Any]:
        """When it last ran, how often it failed, the presence counts it saw."""
        return {
            "runs": self.runs,
            "errors": self.errors,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "presence": self.presence,
        }

    def run_once(self, now: datetime | None = None) -> None:
        """Run every job once; one failing job does not stop the others."""
        now = now or utcnow()
        jobs: list[tuple[str, Callable[[], Any]]] = [
            ("loan rules", lambda: self._in_tx(lambda s: run_loan_rules(s, self.settings, now))),
            ("reminders", lambda: send_reminders(self.factory, self.settings, now, self.send)),
            ("presence", lambda: self._presence(now)),
            ("retention", lambda: run_retention(self.factory, self.settings, now)),
        ]
        for name, job in jobs:
            try:
                job()
            except Exception:  # the loop's edge: log, count, carry on with the next job
                self.errors += 1
                log.exception("scheduled job %r failed", name)
        self.runs += 1
        self.last_run_at = now

    def _in_tx(self, fn: Callable[[Session], Any]) -> Any:
        with session_scope(self.factory) as session:
            return fn(session)

    def _presence(self, now: datetime) -> None:
        rules = PresenceRules.from_settings(self.settings)
        with self.factory() as session:
            self.presence = presence_counts(session, rules, now)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.settings.scheduler_interval_s)
