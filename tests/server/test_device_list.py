"""The device list: its filters, pages and body, on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient

from server.api.schemas import DevicePage
from tests.server.flow import Api, intake, lend, ready_device


def _fleet(api: Api) -> dict[str, int]:
    """Five devices: two on loan (Noord's Damme, Brugge), a ready one, a tablet, a T14."""
    ids = {
        "damme": ready_device(api, "SN-DAMME")["id"],
        "brugge": ready_device(api, "SN-BRUGGE")["id"],
        "ready": ready_device(api, "SN-READY")["id"],
        "tablet": intake(api, "SN-TAB", kind="tablet")["id"],
    }
    lend(api, ids["damme"], "B-1", municipality="Damme")
    lend(api, ids["brugge"], "B-2", municipality="Brugge")
    t14 = api(
        "POST",
        "/devices",
        expect=201,
        json={"kind": "laptop", "make": "Lenovo", "model": "ThinkPad T14", "serial": "SN-T14"},
    )
    ids["t14"] = t14["id"]
    return ids


def _ids(api: Api, query: str) -> list[int]:
    return [d["id"] for d in api("GET", "/devices?" + query)["items"]]


def test_filters_select_the_right_devices(api: Api) -> None:
    ids = _fleet(api)
    assert _ids(api, "state=on_loan&digibank=Noord") == [ids["damme"]]
    assert _ids(api, "state=on_loan&digibank=noord") == [ids["damme"]]  # any case
    assert sorted(_ids(api, "state=on_loan")) == sorted([ids["damme"], ids["brugge"]])
    assert _ids(api, "kind=tablet") == [ids["tablet"]]
    assert _ids(api, "q=t14") == [ids["t14"]]
    assert _ids(api, "q=sn-ready") == [ids["ready"]]
    assert _ids(api, "state=retired") == []


def test_pages_are_newest_first_with_the_total(api: Api) -> None:
    ids = _fleet(api)
    everything = sorted(ids.values(), reverse=True)
    first = api("GET", "/devices?limit=2")
    second = api("GET", "/devices?limit=2&offset=2")
    assert first["total"] == second["total"] == len(everything)
    assert [d["id"] for d in first["items"] + second["items"]] == everything[:4]
    assert (first["limit"], second["offset"]) == (2, 2)


def test_body_is_what_the_schema_declares(
    api: Api, app_client: TestClient, manager: dict[str, str]
) -> None:
    """The page is encoded without pydantic: it must still read back as a DevicePage,
    unchanged, with the place, the digibank, the specs and UTC times."""
    ids = _fleet(api)
    body = app_client.get("/api/v1/devices?state=on_loan&digibank=Noord", headers=manager).json()
    assert DevicePage.model_validate(body).model_dump(mode="json") == body
    device = body["items"][0]
    detail = api("GET", f"/devices/{ids['damme']}")  # the same device through the ORM path
    assert {key: detail[key] for key in device} == device
    assert device["location_name"] == "Digipunt Damme"
    assert device["digibank"] == "Noord"
    assert device["specs"] == {"cpu": "i5-8350U", "ram_gb": 8.0, "storage_gb": 256.0}
    assert device["created_at"].endswith("Z")
