"""The flags queue through the API: list with filters, acknowledge, resolve."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server.models import Flag
from tests.server.flow import Api, intake


def _flag(
    session: Session, device_id: int, reason: str, kind: str = "repair", severity: str = "warning"
) -> int:
    flag = Flag(device_id=device_id, kind=kind, reason=reason, severity=severity,
                evidence={"battery_health_pct": 55.0})  # fmt: skip
    session.add(flag)
    session.commit()
    return flag.id


def test_list_ack_resolve(api: Api, session: Session) -> None:
    dev = intake(api)
    a = _flag(session, dev["id"], "battery_worn", severity="critical")
    b = _flag(session, dev["id"], "loan_overdue", kind="return")
    page = api("GET", "/flags")
    assert [f["id"] for f in page["items"]] == [a, b]  # critical first
    assert page["items"][0]["evidence"] == {"battery_health_pct": 55.0}
    assert [f["id"] for f in api("GET", "/flags?kind=return")["items"]] == [b]
    acked = api("POST", f"/flags/{a}/ack", json={"note": "ordered a battery"})
    assert (acked["status"], acked["acknowledged_by"]) == ("acknowledged", "boss")
    assert "already acknowledged" in api("POST", f"/flags/{a}/ack", expect=409, json={})["detail"]
    done = api("POST", f"/flags/{a}/resolve", json={"note": "battery replaced"})
    assert (done["status"], done["note"]) == ("resolved", "battery replaced")
    assert [f["id"] for f in api("GET", "/flags")["items"]] == [b]
    assert [f["id"] for f in api("GET", "/flags?status=resolved")["items"]] == [a]
    assert (
        api("POST", "/flags/999999/ack", expect=404, json={})["detail"] == "flag 999999 not found"
    )
    events = api("GET", f"/devices/{dev['id']}")["events"]
    assert any("flag resolved" in (e["reason"] or "") for e in events)
