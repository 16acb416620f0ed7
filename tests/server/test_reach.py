"""Reach per digibank and municipality, its CSV, and retention that keeps it right."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Borrower
from server.retention import erase_expired_borrowers
from server.timeutil import utcnow
from tests.server.flow import Api, lend, ready_device


def _bank(report: dict, name: str) -> int:
    return next(r["adults"] for r in report["digibanks"] if r["digibank"] == name)


def _muni(report: dict, name: str) -> int:
    return next(r["adults"] for r in report["municipalities"] if r["municipality"] == name)


def _loan_and_return(api: Api, serial: str, ref: str, adult: bool, muni: str) -> None:
    dev = ready_device(api, serial)
    loan = lend(api, dev["id"], ref=ref, adult=adult, municipality=muni)
    api("POST", f"/loans/{loan['id']}/return", json={})


def test_reach_counts_distinct_adults(api: Api) -> None:
    _loan_and_return(api, "S1", "ADULT-1", True, "Damme")  # Noord
    _loan_and_return(api, "S2", "ADULT-1", True, "Damme")  # same person again
    _loan_and_return(api, "S3", "ADULT-2", True, "Knokke-Heist")  # Noord
    _loan_and_return(api, "S4", "CHILD-1", False, "Damme")  # not an adult
    _loan_and_return(api, "S5", "ADULT-3", True, "Torhout")  # West
    report = api("GET", "/reports/reach")
    assert report["target_per_digibank"] == 1000
    assert (_bank(report, "Noord"), _bank(report, "West"), _bank(report, "Brugge")) == (2, 1, 0)
    assert (_muni(report, "Damme"), _muni(report, "Knokke-Heist"), _muni(report, "Torhout")) == (
        1,
        1,
        1,
    )
    noord = next(r for r in report["digibanks"] if r["digibank"] == "Noord")
    assert noord["pct_of_target"] == 0.2


def test_reach_csv(app_client: TestClient, api: Api, manager: dict[str, str]) -> None:
    _loan_and_return(api, "S1", "ADULT-1", True, "Zedelgem")
    r = app_client.get("/api/v1/reports/reach?format=csv", headers=manager)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    west = next(x for x in rows if x["level"] == "digibank" and x["digibank"] == "West")
    assert (west["adults_reached"], west["target"]) == ("1", "1000")
    assert len([x for x in rows if x["level"] == "municipality"]) == 10


def test_retention_erases_references_and_keeps_reach(api: Api, session: Session) -> None:
    _loan_and_return(api, "S1", "OLD-1", True, "Beernem")
    dev = ready_device(api, "S2")
    lend(api, dev["id"], ref="ACTIVE-1", municipality="Beernem")  # still on loan
    before = api("GET", "/reports/reach")
    old = session.scalar(select(Borrower).where(Borrower.ref == "OLD-1"))
    assert old is not None
    old.last_return_at = utcnow() - timedelta(days=400)
    session.commit()
    assert erase_expired_borrowers(session, retention_days=365) == 1
    session.commit()
    refs = set(session.scalars(select(Borrower.ref)))
    assert refs == {None, "ACTIVE-1"}
    assert api("GET", "/reports/reach") | {"generated_at": 0} == before | {"generated_at": 0}
    # running it again erases nothing more
    assert erase_expired_borrowers(session, retention_days=365) == 0


def test_recent_returns_are_kept(api: Api, session: Session) -> None:
    _loan_and_return(api, "S1", "NEW-1", True, "Oostkamp")
    assert erase_expired_borrowers(session, retention_days=365) == 0
    assert session.scalar(select(Borrower.ref)) == "NEW-1"


def test_period_reach_from_loans_matches_the_facts(api: Api) -> None:
    _loan_and_return(api, "S1", "P-1", True, "Brugge")
    _loan_and_return(api, "S2", "P-2", True, "Oostkamp")
    _loan_and_return(api, "S3", "P-1", True, "Oostkamp")  # one person, two municipalities
    facts = api("GET", "/reports/reach")
    period = api("GET", "/reports/reach?since=2000-01-01&until=2200-01-01")
    assert facts["digibanks"] == period["digibanks"]
    assert facts["municipalities"] == period["municipalities"]
    assert _bank(facts, "Brugge") == 2  # P-1 counted once for the digibank
    assert (_muni(facts, "Brugge"), _muni(facts, "Oostkamp")) == (1, 2)
    assert _bank(api("GET", "/reports/reach?since=2199-01-01"), "Brugge") == 0


def test_a_borrower_coming_of_age_counts(api: Api) -> None:
    _loan_and_return(api, "S1", "TEEN-1", False, "Damme")
    assert _bank(api("GET", "/reports/reach"), "Noord") == 0
    _loan_and_return(api, "S2", "TEEN-1", True, "Blankenberge")
    report = api("GET", "/reports/reach")
    assert _bank(report, "Noord") == 1
    assert (_muni(report, "Damme"), _muni(report, "Blankenberge")) == (1, 1)
