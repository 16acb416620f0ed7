"""Authentication and roles: 401 without a token, 403 for the wrong role, login limits."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import PASSWORD


def test_healthz_needs_no_auth(app_client: TestClient) -> None:
    r = app_client.get("/healthz")
    assert r.status_code == 200 and r.json()["database"] is True


@pytest.mark.parametrize(
    "path", ["/api/v1/devices", "/api/v1/loans", "/api/v1/locations", "/api/v1/flags",
             "/api/v1/reports/reach", "/api/v1/users"]
)  # fmt: skip
def test_everything_else_needs_a_token(app_client: TestClient, path: str) -> None:
    assert app_client.get(path).status_code == 401
    assert app_client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_roles(
    app_client: TestClient,
    manager: dict[str, str],
    technician: dict[str, str],
    station: dict[str, str],
) -> None:
    user = {"username": "newbie", "password": "a long enough password", "role": "technician"}
    # users: managers only
    assert app_client.post("/api/v1/users", json=user, headers=technician).status_code == 403
    assert app_client.post("/api/v1/users", json=user, headers=station).status_code == 403
    assert app_client.post("/api/v1/users", json=user, headers=manager).status_code == 201
    # devices: technicians and stations may take devices in
    body = {"kind": "tablet", "serial": "T-1"}
    assert app_client.post("/api/v1/devices", json=body, headers=technician).status_code == 201
    assert app_client.post("/api/v1/devices", json=body, headers=station).status_code == 201
    # loans: people, not stations
    assert app_client.get("/api/v1/loans", headers=technician).status_code == 200
    r = app_client.get("/api/v1/loans", headers=station)
    assert r.status_code == 403 and "station" in r.json()["detail"]
    # station tokens: managers only
    assert (
        app_client.post("/api/v1/tokens", json={"name": "s"}, headers=technician).status_code == 403
    )


def test_wrong_password_is_401_and_rate_limited(app_client: TestClient) -> None:
    bad = {"username": "boss", "password": "wrong"}
    for _ in range(5):
        assert app_client.post("/api/v1/auth/token", data=bad).status_code == 401
    r = app_client.post("/api/v1/auth/token", data={"username": "boss", "password": PASSWORD})
    assert r.status_code == 429 and "too many" in r.json()["detail"]


def test_unknown_user_is_401(app_client: TestClient) -> None:
    r = app_client.post("/api/v1/auth/token", data={"username": "ghost", "password": "x"})
    assert r.status_code == 401


def test_logout_revokes_the_token(app_client: TestClient, manager: dict[str, str]) -> None:
    assert app_client.get("/api/v1/devices", headers=manager).status_code == 200
    assert app_client.post("/api/v1/auth/logout", headers=manager).status_code == 204
    assert app_client.get("/api/v1/devices", headers=manager).status_code == 401


def test_station_token_is_stored_hashed(app_client: TestClient, manager: dict[str, str]) -> None:
    r = app_client.post("/api/v1/tokens", json={"name": "station-2"}, headers=manager)
    token = r.json()["token"]
    with app_client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        stored = [row[0] for row in conn.exec_driver_sql("SELECT token_hash FROM api_tokens")]
    assert token not in stored
    auth = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/v1/devices", headers=auth).status_code == 200
