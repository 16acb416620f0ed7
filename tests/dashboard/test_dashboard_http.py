"""Dashboard over HTTP against a real uvicorn: sign-in rules, CSRF, loan actions, exports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from server.models import Borrower, Device, Flag, Loan
from tests.dashboard.conftest import PASSWORD, LiveHub, add_flag, loan_with_certified_wipe

PAGES = ["/", "/flags", "/devices/1", "/loans", "/digipunten", "/live/overview",
         "/exports/reach.csv", "/exports/devices.csv", "/exports/loans.csv"]  # fmt: skip


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


@contextmanager
def logged_in(hub: LiveHub, username: str = "anna") -> Iterator[httpx.Client]:
    """An HTTP client with a dashboard session."""
    with httpx.Client(base_url=hub.url, follow_redirects=False, timeout=10) as client:
        token = csrf_of(client.get("/login").text)
        resp = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert resp.status_code == 303, resp.text
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_every_page_but_login_redirects_to_login(live_hub: LiveHub, path: str) -> None:
    with httpx.Client(base_url=live_hub.url) as client:
        resp = client.get(path)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/login?next=")
    assert resp.headers["location"].endswith(path.replace("/", "%2F"))


def test_login_page_is_a_dutch_form_with_the_two_fields(live_hub: LiveHub) -> None:
    html = httpx.get(live_hub.url + "/login").text
    assert '<html lang="nl">' in html
    assert 'name="username"' in html and 'name="password"' in html
    assert '<label for="username">' in html and '<label for="password">' in html


def test_wrong_password_is_refused_with_a_message(live_hub: LiveHub) -> None:
    with httpx.Client(base_url=live_hub.url) as client:
        token = csrf_of(client.get("/login").text)
        resp = client.post(
            "/login", data={"username": "anna", "password": "nope", "csrf_token": token}
        )
        assert resp.status_code == 401
        assert "klopt niet" in resp.text
        assert client.get("/", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(live_hub: LiveHub) -> None:
    with live_hub.factory() as session:
        flag = session.scalars(select(Flag).where(Flag.status == "open")).first()
        assert flag is not None
        flag_id = flag.id
    with logged_in(live_hub) as client:
        resp = client.post(f"/flags/{flag_id}/resolve", data={"csrf_token": "forged", "note": "x"})
        assert resp.status_code == 403
        resp = client.post(f"/flags/{flag_id}/resolve", data={"note": "x"})
        assert resp.status_code == 403
    with live_hub.factory() as session:
        assert session.get(Flag, flag_id).status == "open"  # type: ignore[union-attr]
    with httpx.Client(base_url=live_hub.url) as client:
        client.get("/login")
        resp = client.post("/login", data={"username": "anna", "password": PASSWORD})
        assert resp.status_code == 403


def test_logout_ends_the_session(live_hub: LiveHub) -> None:
    with logged_in(live_hub, "tom") as client:
        page = client.get("/")
        assert page.status_code == 200
        assert client.post("/logout", data={"csrf_token": csrf_of(page.text)}).status_code == 303
        assert client.get("/").status_code == 303


def test_extend_then_return_a_loan_from_the_loans_page(live_hub: LiveHub) -> None:
    with live_hub.factory() as session:
        loan = session.scalars(
            select(Loan).where(Loan.returned_at.is_(None)).order_by(Loan.due_date)
        ).first()
        assert loan is not None
        loan_id, device_id, due = loan.id, loan.device_id, loan.due_date
    with logged_in(live_hub) as client:
        page = client.get("/loans")
        assert f'id="loan-{loan_id}"' in page.text
        token = csrf_of(page.text)
        later = (due + timedelta(days=14)).isoformat()
        resp = client.post(
            f"/loans/{loan_id}/extend", data={"csrf_token": token, "due_date": later}
        )
        assert resp.status_code == 303
        bad = client.post(
            f"/loans/{loan_id}/extend", data={"csrf_token": token, "due_date": "not-a-date"}
        )
        assert bad.status_code == 303  # back to the page with a message, not a crash
        assert "not-a-date" in client.get("/loans").text
        resp = client.post(
            f"/loans/{loan_id}/return", data={"csrf_token": token, "condition": "scratched lid"}
        )
        assert resp.status_code == 303
        assert f'id="loan-{loan_id}"' not in client.get("/loans").text
    with live_hub.factory() as session:
        loan = session.get(Loan, loan_id)
        assert loan is not None and loan.returned_at is not None
        assert loan.due_date.isoformat() == later and loan.extended_count == 1
        assert loan.return_condition == "scratched lid"
        assert session.get(Device, device_id).state == "returned"  # type: ignore[union-attr]


def test_exports_are_complete_and_loans_are_pseudonymous(live_hub: LiveHub) -> None:
    with logged_in(live_hub) as client:
        devices = list(csv.DictReader(io.StringIO(client.get("/exports/devices.csv").text)))
        loans_text = client.get("/exports/loans.csv").text
        reach = client.get("/exports/reach.csv")
    loans = list(csv.DictReader(io.StringIO(loans_text)))
    with live_hub.factory() as session:
        assert len(devices) == session.scalar(select(func.count()).select_from(Device))
        assert len(loans) == session.scalar(select(func.count()).select_from(Loan))
        refs = [r for r in session.scalars(select(Borrower.ref)) if r]
    assert refs and not any(ref in loans_text for ref in refs)
    assert all(row["borrower_pseudonym"].startswith("B-") for row in loans)
    assert reach.status_code == 200 and "Noord" in reach.text


@pytest.mark.parametrize(
    "path", ["/devices/999999", "/devices/not-a-number", "/devices/-1", "/devices/" + "9" * 30]
)
def test_an_unknown_device_gets_a_not_found_page(live_hub: LiveHub, path: str) -> None:
    with logged_in(live_hub) as client:
        resp = client.get(path)
    assert resp.status_code == 404
    assert "Niet gevonden" in resp.text and '<html lang="nl">' in resp.text


def test_odd_filter_values_are_ignored_not_fatal(live_hub: LiveHub) -> None:
    with logged_in(live_hub) as client:
        for path in ["/flags?digibank=x&offset=" + "9" * 30, "/loans?offset=-5&digibank=1e9",
                     "/flags?kind=nonsense&status=nonsense&reason=%27%3B--",
                     "/loans?tag=" + "x" * 500]:  # fmt: skip
            assert client.get(path).status_code == 200, path


def test_device_page_shows_its_place_loan_wipe_certificate_and_timeline(live_hub: LiveHub) -> None:
    with live_hub.factory() as session:
        wipe, loan = loan_with_certified_wipe(session)
        device = loan.device
        expected = [
            device.asset_tag,
            device.location.name,
            f"{loan.location.name} · #{loan.id}",  # the loan's timeline entry
            "volwassene" if loan.borrower.adult else "minderjarige",
            f"{loan.due_date:%d/%m/%Y}",
            f'href="/devices/{device.id}/jobs/{wipe.id}/certificate"',
        ]
    with logged_in(live_hub) as client:
        html = client.get(f"/devices/{device.id}").text
    for text in expected:
        assert text in html, text


def test_flags_rows_escape_notes_and_offer_acknowledge_only_while_open(
    live_hub: LiveHub,
) -> None:
    with live_hub.factory() as session:
        devices = session.scalars(select(Device).where(Device.state == "repair")).all()
        flags = [add_flag(session, d, "overheating", "critical") for d in devices[:2]]
        flags[1].status, flags[1].note = "acknowledged", "<b>fan</b> & paste"
        session.commit()
        open_id, ack_id = flags[0].id, flags[1].id
        noted_device = devices[1].id
    with logged_in(live_hub) as client:
        html = client.get("/flags?reason=overheating").text
        device_html = client.get(f"/devices/{noted_device}").text
    assert "&lt;b&gt;fan&lt;/b&gt; &amp; paste" in html and "<b>fan</b>" not in html
    # The device's timeline (built in Python, rows.py) escapes the same note.
    assert "&lt;b&gt;fan&lt;/b&gt; &amp; paste" in device_html and "<b>fan</b>" not in device_html
    assert f'formaction="/flags/{open_id}/ack"' in html
    assert f'formaction="/flags/{ack_id}/ack"' not in html
    assert f'action="/flags/{ack_id}/resolve"' in html
    assert "battery_health_pct=55.0, threshold=60.0" in html  # the evidence, as text
