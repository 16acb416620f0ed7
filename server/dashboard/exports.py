"""CSV exports for subsidy reports: reach, devices, and loans with borrowers pseudonymised."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from server.models import Borrower, Device, Digibank, Loan, Location, Municipality
from server.timeutil import BRUSSELS

BATCH = 2000


def _csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """CSV text in chunks of lines, so big exports stream instead of filling memory."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in row])
        if i % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _local(moment: Any) -> str:
    return moment.astimezone(BRUSSELS).isoformat(timespec="seconds") if moment else ""


def devices_csv(session: Session) -> Iterator[str]:
    """Every device with its state, grade, place and last report time (Brussels)."""
    stmt = (
        select(
            Device.id,
            Device.asset_tag,
            Device.kind,
            Device.make,
            Device.model,
            Device.state,
            Device.grade,
            Location.name,
            Municipality.name,
            Digibank.name,
            Device.intake_at,
            Device.last_seen_at,
        )
        .join(Location, Location.id == Device.location_id)
        .outerjoin(Municipality, Municipality.id == Location.municipality_id)
        .outerjoin(Digibank, Digibank.id == Municipality.digibank_id)
        .order_by(Device.id)
        .execution_options(yield_per=BATCH)
    )
    rows = ((*r[:10], _local(r[10]), _local(r[11])) for r in session.execute(stmt))
    header = [
        "id",
        "asset_tag",
        "kind",
        "make",
        "model",
        "state",
        "grade",
        "location",
        "municipality",
        "digibank",
        "intake_at",
        "last_seen_at",
    ]
    return _csv_lines(header, rows)


def pseudonym(secret: str, borrower_id: int) -> str:
    """A stable borrower pseudonym that only the hub's secret links back to the borrower."""
    mac = hmac.new(secret.encode(), f"borrower:{borrower_id}".encode(), hashlib.sha256)
    return "B-" + mac.hexdigest()[:12]


def loans_csv(session: Session, secret: str) -> Iterator[str]:
    """All loans with the borrower as a pseudonym only (never the stored reference)."""
    returned_to = aliased(Location)
    stmt = (
        select(
            Loan.id,
            Device.asset_tag,
            Loan.borrower_id,
            Borrower.adult,
            Digibank.name,
            Location.name,
            Loan.started_at,
            Loan.due_date,
            Loan.extended_count,
            Loan.returned_at,
            returned_to.name,
        )
        .join(Device, Device.id == Loan.device_id)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .join(Digibank, Digibank.id == Borrower.digibank_id)
        .join(Location, Location.id == Loan.location_id)
        .outerjoin(returned_to, returned_to.id == Loan.return_location_id)
        .order_by(Loan.id)
        .execution_options(yield_per=BATCH)
    )
    rows = (
        (
            r[0],
            r[1],
            pseudonym(secret, r[2]),
            "yes" if r[3] else "no",
            r[4],
            r[5],
            _local(r[6]),
            r[7].isoformat(),
            r[8],
            _local(r[9]),
            r[10],
        )
        for r in session.execute(stmt)
    )
    header = [
        "loan_id",
        "asset_tag",
        "borrower_pseudonym",
        "adult",
        "digibank",
        "lent_at",
        "started_at",
        "due_date",
        "extended",
        "returned_at",
        "returned_to",
    ]
    return _csv_lines(header, rows)
