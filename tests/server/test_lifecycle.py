"""The lifecycle table, its guards and its audit trail, through the API."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from server import lifecycle
from server.errors import Conflict
from server.models import Device, DeviceEvent
from tests.server.flow import Api, intake, lend, ready_device, to, wipe

STATES = lifecycle.STATES
EXPECTED = {
    ("intake", "refurbishing"), ("intake", "retired"),
    ("refurbishing", "ready"), ("refurbishing", "repair"), ("refurbishing", "retired"),
    ("repair", "refurbishing"), ("repair", "retired"),
    ("ready", "on_loan"), ("ready", "repair"), ("ready", "retired"),
    ("on_loan", "returned"), ("on_loan", "retired"),
    ("returned", "refurbishing"), ("returned", "repair"), ("returned", "retired"),
}  # fmt: skip


def test_table_is_the_design() -> None:
    """The table in code is exactly the one in DESIGN.md."""
    got = {(a, b) for a, targets in lifecycle.ALLOWED.items() for b in targets}
    assert got == EXPECTED


def _device_in(session: Session, state: str) -> Device:
    from server.devices import create_device

    d = create_device(session, actor="t", location_id=None, kind="laptop")
    d.state = state
    session.flush()
    return d


@pytest.mark.parametrize(("src", "dst"), sorted(EXPECTED))
def test_every_allowed_transition(session: Session, src: str, dst: str) -> None:
    """Each allowed step goes through once its guard is met, and leaves an audit event."""
    from server.devices import record_destruction, record_job
    from server.timeutil import utcnow

    d = _device_in(session, src)
    if dst == "ready":
        record_job(
            session,
            d,
            actor="t",
            kind="wipe",
            status="passed",
            started_at=utcnow(),
            certificate={"x": 1},
        )
    if dst == "retired":
        record_destruction(
            session, d, actor="t", method="shredded", reference=None, destroyed_at=utcnow()
        )
    ev = lifecycle.transition(
        session, d, dst, actor="alice", reason="why", via_loan=dst in lifecycle.LOAN_ONLY
    )
    assert d.state == dst
    assert (ev.actor, ev.from_state, ev.to_state, ev.reason) == ("alice", src, dst, "why")
    session.commit()
    assert session.get(DeviceEvent, ev.id) is not None


REFUSED = sorted({(a, b) for a in STATES for b in STATES if a != b} - EXPECTED)


@pytest.mark.parametrize(("src", "dst"), REFUSED[::3])
def test_refused_transitions_name_the_allowed_ones(session: Session, src: str, dst: str) -> None:
    d = _device_in(session, src)
    with pytest.raises(Conflict) as err:
        lifecycle.transition(session, d, dst, actor="t", reason=None)
    assert d.state == src
    for allowed in lifecycle.allowed_from(src):
        assert allowed in str(err.value)


def test_illegal_step_via_api_is_409_with_allowed(api: Api) -> None:
    dev = intake(api)
    r = to(api, dev["id"], "ready", expect=409)
    assert "refurbishing" in r["detail"] and "retired" in r["detail"]


def test_ready_needs_a_passed_wipe_after_intake(api: Api) -> None:
    dev = intake(api)
    to(api, dev["id"], "refurbishing")
    assert "no wipe" in to(api, dev["id"], "ready", expect=409)["detail"]
    wipe(api, dev["id"], status="incomplete")
    assert "incomplete" in to(api, dev["id"], "ready", expect=409)["detail"]
    wipe(api, dev["id"], status="passed")
    wipe(api, dev["id"], status="failed")  # a later failed wipe outweighs the earlier pass
    assert "failed" in to(api, dev["id"], "ready", expect=409)["detail"]
    wipe(api, dev["id"], status="passed")
    assert to(api, dev["id"], "ready")["to_state"] == "ready"


def test_wipe_before_the_last_loan_does_not_count(api: Api) -> None:
    dev = ready_device(api)
    loan = lend(api, dev["id"])
    api("POST", f"/loans/{loan['id']}/return", json={})
    to(api, dev["id"], "refurbishing")
    assert "no wipe" in to(api, dev["id"], "ready", expect=409)["detail"]


def test_on_loan_only_by_lending(api: Api) -> None:
    dev = ready_device(api)
    assert "POST /api/v1/loans" in to(api, dev["id"], "on_loan", expect=409)["detail"]


def test_retire_needs_certificate_or_destruction(api: Api) -> None:
    dev = intake(api, "SN-R")
    assert "certificate" in to(api, dev["id"], "retired", expect=409)["detail"]
    api("POST", f"/devices/{dev['id']}/destruction", expect=201, json={"method": "shredded"})
    to(api, dev["id"], "retired")
    assert "none (final state)" in to(api, dev["id"], "repair", expect=409)["detail"]


def test_history_has_every_event(api: Api) -> None:
    dev = ready_device(api)
    detail = api("GET", f"/devices/{dev['id']}")
    steps = [
        (e["from_state"], e["to_state"]) for e in detail["events"] if e["kind"] == "transition"
    ]
    assert steps == [("intake", "refurbishing"), ("refurbishing", "ready")]
    assert all(e["actor"] == "boss" for e in detail["events"])
    assert detail["jobs"][0]["status"] == "passed"
    assert detail["allowed_transitions"] == ["repair", "on_loan", "retired"]
