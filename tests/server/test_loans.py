"""Loan rules: only ready devices, one loan at a time, returns and extensions."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.server.flow import Api, digipunt, intake, lend, ready_device


def test_lend_moves_device_on_loan_at_the_digipunt(api: Api) -> None:
    dev = ready_device(api)
    loan = lend(api, dev["id"], municipality="Torhout")
    got = api("GET", f"/devices/{dev['id']}")
    assert got["state"] == "on_loan"
    assert got["location_name"] == "Digipunt Torhout"
    assert got["current_loan"]["id"] == loan["id"]
    assert loan["borrower_ref"] == "B-0001" and loan["overdue"] is False


def test_only_ready_devices_can_be_lent(api: Api) -> None:
    dev = intake(api)
    r = lend(api, dev["id"], expect=409)
    assert "intake" in r["detail"] and "ready" in r["detail"]


def test_a_device_on_loan_cannot_be_lent_again(api: Api) -> None:
    dev = ready_device(api)
    lend(api, dev["id"], ref="B-1")
    assert "on_loan" in lend(api, dev["id"], ref="B-2", expect=409)["detail"]


def test_lend_needs_a_digipunt(api: Api) -> None:
    dev = ready_device(api)
    hub = next(x for x in api("GET", "/locations") if x["kind"] == "hub")
    due = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    r = api("POST", "/loans", expect=422, json={"device_id": dev["id"], "borrower_ref": "B-1",
            "borrower_adult": True, "location_id": hub["id"], "due_date": due})  # fmt: skip
    assert "not a digipunt" in r["detail"]


def test_return_to_another_digipunt_and_extend(api: Api) -> None:
    dev = ready_device(api)
    loan = lend(api, dev["id"], days=10)
    later = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    ext = api("POST", f"/loans/{loan['id']}/extend", json={"due_date": later})
    assert ext["due_date"] == later and ext["extended_count"] == 1
    back = digipunt(api, "Brugge")
    ret = api("POST", f"/loans/{loan['id']}/return",
              json={"location_id": back["id"], "condition": "scratched lid"})  # fmt: skip
    assert ret["returned_at"] and ret["return_condition"] == "scratched lid"
    got = api("GET", f"/devices/{dev['id']}")
    assert (got["state"], got["location_name"]) == ("returned", "Digipunt Brugge")
    assert got["current_loan"] is None
    assert (
        "already returned"
        in api("POST", f"/loans/{loan['id']}/return", expect=409, json={})["detail"]
    )


def test_overdue_loans_listed_first(api: Api, session: object) -> None:
    from server.models import Loan

    a = ready_device(api, "A")
    b = ready_device(api, "B")
    la = lend(api, a["id"], ref="R-A", days=20)
    lb = lend(api, b["id"], ref="R-B", days=5)
    loan = session.get(Loan, la["id"])  # type: ignore[attr-defined]
    loan.due_date = (datetime.now(UTC) - timedelta(days=2)).date()
    session.commit()  # type: ignore[attr-defined]
    rows = api("GET", "/loans")
    assert [r["id"] for r in rows] == [la["id"], lb["id"]]
    assert rows[0]["overdue"] is True
    assert [r["id"] for r in api("GET", "/loans?overdue=true")] == [la["id"]]


def test_concurrent_loans_of_one_device_exactly_one_succeeds(
    app_client: TestClient, api: Api, manager: dict[str, str]
) -> None:
    dev = ready_device(api)
    place = digipunt(api)["id"]
    due = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    codes: list[int] = []
    start = threading.Barrier(6)

    def attempt(i: int) -> None:
        body = {"device_id": dev["id"], "borrower_ref": f"C-{i}", "borrower_adult": True,
                "location_id": place, "due_date": due}  # fmt: skip
        start.wait()
        codes.append(app_client.post("/api/v1/loans", json=body, headers=manager).status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 409, 409, 409, 409, 409]
    assert len(api("GET", f"/loans?device_id={dev['id']}")) == 1
