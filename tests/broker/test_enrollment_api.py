"""Enrollment through the API on a migrated SQLite database and the real broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from agent.enroll import parse_enrollment
from server.app import create_app
from server.broker import MosquittoBroker
from server.core.config import load_settings
from server.core.migrate import upgrade
from server.devices import create_device
from server.dynsec import DynsecClient
from server.enrollment import (
    ENROLL_MAX_FAILURES,
    EnrollmentRefused,
    broker_link,
    hash_code,
    redeem_code,
    revoke_device,
)
from server.models import Device, DeviceEvent, EnrollmentCode, User
from server.region import seed_region
from server.security import hash_password, issue_token
from server.timeutil import utcnow
from tests.mqtt_broker import (
    ConnectRefused,
    close,
    connect,
    publish,
    server_client,
    started_broker,
    subscribe,
)
from tests.postgres import PG_URL, throwaway_database


class Hub:
    """The API (TestClient) wired to a broker, with a manager, a technician and a station."""

    def __init__(self, client: TestClient, broker: MosquittoBroker) -> None:
        self.client = client
        self.broker = broker
        factory = client.app.state.sessionmaker  # type: ignore[attr-defined]
        with factory() as s:
            seed_region(s)
            s.add(User(username="boss", password_hash=hash_password("x" * 12), role="manager"))
            s.add(User(username="tech", password_hash=hash_password("x" * 12), role="technician"))
            s.flush()
            self.headers = {
                role: {
                    "Authorization": "Bearer "
                    + issue_token(s, name=role, role=role, user_id=uid, ttl=None)
                }
                for role, uid in (("manager", 1), ("technician", 2), ("station", None))
            }
            s.commit()
        self.factory = factory

    def new_device(self) -> int:
        with self.factory() as s:
            device = create_device(s, actor="test", location_id=None, kind="laptop")
            s.commit()
            return device.id

    def code_for(self, device_id: int, role: str = "technician") -> dict[str, Any]:
        r = self.client.post(f"/api/v1/devices/{device_id}/enrollment", headers=self.headers[role])
        assert r.status_code == 201, r.text
        return dict(r.json())

    def enroll(self, code: str, expect: int = 200) -> dict[str, Any]:
        r = self.client.post("/api/v1/enroll", json={"code": code})
        assert r.status_code == expect, r.text
        return dict(r.json())


def _hub(broker: MosquittoBroker, db_dir: Path, **settings: Any) -> Iterator[Hub]:
    settings.setdefault("database_url", f"sqlite:///{db_dir / 'hub.db'}")
    cfg = load_settings(
        data_dir=broker.data_dir,
        mqtt_host=broker.host,
        mqtt_port=broker.port,
        ingest_enabled=False,
        **settings,
    )
    app = create_app(cfg, start_services=False)
    upgrade(app.state.engine)
    with TestClient(app) as client:
        yield Hub(client, broker)


@pytest.fixture(scope="module")
def hub(mosquitto: MosquittoBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    yield from _hub(mosquitto, tmp_path_factory.mktemp("enroll"))


def _device_login(hub: Hub, creds: dict[str, Any], **kw: Any) -> Any:
    return connect(
        creds["mqtt_host"],
        creds["mqtt_port"],
        creds["mqtt_username"],
        creds["mqtt_password"],
        client_id=creds["mqtt_client_id"],
        **kw,
    )


def test_enroll_then_publish_own_health(hub: Hub) -> None:
    device_id = hub.new_device()
    code = hub.code_for(device_id)
    creds = hub.enroll(code["code"])
    assert creds["device_id"] == str(device_id)  # as in the topics
    assert parse_enrollment(creds).mqtt_username == creds["mqtt_username"]  # the agent's reader
    assert (creds["mqtt_host"], creds["mqtt_port"], creds["mqtt_tls"]) == (
        hub.broker.host,
        hub.broker.port,
        False,
    )
    assert creds["ca_cert"] is None
    server, got = server_client(hub.broker)
    subscribe(server, "$share/enrolltest/digibank/v1/devices/+/health")
    device, _ = _device_login(hub, creds)
    try:
        topic = f"digibank/v1/devices/{device_id}/health"
        assert not publish(device, topic, b'{"seq": 1}').is_failure
        msgs = got.wait_for(1)
        assert [(m.topic, m.payload) for m in msgs] == [(topic, b'{"seq": 1}')]
    finally:
        close(device)
        close(server)
    with hub.factory() as s:
        kinds = [e.kind for e in s.query(DeviceEvent).filter_by(device_id=device_id)]
        assert "enrolled" in kinds


def test_code_works_once(hub: Hub) -> None:
    code = hub.code_for(hub.new_device(), role="station")["code"]
    hub.enroll(code)
    again = hub.enroll(code, expect=403)
    assert "already used" in again["detail"]


def test_code_is_forgiving_about_case_and_dashes(hub: Hub) -> None:
    device_id = hub.new_device()
    code = hub.code_for(device_id)["code"]
    assert hub.enroll(code.replace("-", " ").lower())["device_id"] == str(device_id)


def test_expired_code_refused(hub: Hub) -> None:
    code = hub.code_for(hub.new_device())["code"]
    with hub.factory() as s:
        s.execute(
            update(EnrollmentCode)
            .where(EnrollmentCode.code_hash == hash_code(code))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        s.commit()
    assert "expired" in hub.enroll(code, expect=403)["detail"]


def test_code_is_stored_hashed_and_expires_after_the_ttl(hub: Hub) -> None:
    before = utcnow()
    new = hub.code_for(hub.new_device())
    with hub.factory() as s:
        row = s.query(EnrollmentCode).filter_by(code_hash=hash_code(new["code"])).one()
        assert new["code"] not in (row.code_hash, str(row.id))
        ttl = row.expires_at - before
    assert timedelta(minutes=59) < ttl <= timedelta(minutes=60, seconds=5)


def test_new_code_replaces_the_unused_one(hub: Hub) -> None:
    device_id = hub.new_device()
    first = hub.code_for(device_id)["code"]
    second = hub.code_for(device_id)["code"]
    hub.enroll(first, expect=403)
    hub.enroll(second)


def test_unknown_and_malformed_codes(hub: Hub) -> None:
    assert hub.enroll("AAAA-BBBB-CCCC", expect=403)["detail"] == "unknown enrollment code"
    hub.enroll("", expect=422)
    hub.enroll("x" * 500, expect=422)
    r = hub.client.post("/api/v1/enroll", content=b"not json")
    assert r.status_code == 422


def test_creating_codes_needs_staff_or_station(hub: Hub) -> None:
    device_id = hub.new_device()
    assert hub.client.post(f"/api/v1/devices/{device_id}/enrollment").status_code == 401
    missing = hub.client.post("/api/v1/devices/999999/enrollment", headers=hub.headers["manager"])
    assert missing.status_code == 404


def test_reenrollment_replaces_the_old_password(hub: Hub) -> None:
    device_id = hub.new_device()
    old = hub.enroll(hub.code_for(device_id)["code"])
    new = hub.enroll(hub.code_for(device_id)["code"])
    with pytest.raises(ConnectRefused):
        _device_login(hub, old)
    client, _ = _device_login(hub, new)
    close(client)


def test_revoke_needs_a_manager_and_locks_the_device_out(hub: Hub) -> None:
    device_id = hub.new_device()
    creds = hub.enroll(hub.code_for(device_id)["code"])
    path = f"/api/v1/devices/{device_id}/revoke"
    assert hub.client.post(path, headers=hub.headers["technician"]).status_code == 403
    r = hub.client.post(path, headers=hub.headers["manager"])
    assert r.status_code == 200 and r.json() == {"device_id": device_id, "revoked": True}
    with pytest.raises(ConnectRefused):
        _device_login(hub, creds)
    again = hub.client.post(path, headers=hub.headers["manager"])
    assert again.json()["revoked"] is False


def test_revoke_device_for_retirement(hub: Hub) -> None:
    device_id = hub.new_device()
    creds = hub.enroll(hub.code_for(device_id)["code"])
    pending = hub.code_for(device_id)["code"]
    broker = hub.broker
    with hub.factory() as s, DynsecClient(broker.host, broker.port, broker.admin_credentials) as a:
        device = s.get(Device, device_id)
        assert device is not None
        assert revoke_device(s, device, a, actor="boss", reason="retired")
        s.commit()
    with pytest.raises(ConnectRefused):
        _device_login(hub, creds)
    hub.enroll(pending, expect=403)  # its unused code died with it


def test_retired_device_gets_no_code(hub: Hub) -> None:
    device_id = hub.new_device()
    with hub.factory() as s:
        s.execute(update(Device).where(Device.id == device_id).values(state="retired"))
        s.commit()
    r = hub.client.post(
        f"/api/v1/devices/{device_id}/enrollment", headers=hub.headers["technician"]
    )
    assert r.status_code == 409


def test_wrong_codes_are_rate_limited_per_address(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    for hub in _hub(mosquitto, tmp_path):  # its own database: a clean failure count
        good = hub.code_for(hub.new_device())["code"]
        for _ in range(ENROLL_MAX_FAILURES):
            hub.enroll("ZZZZ-ZZZZ-ZZZZ", expect=403)
        assert hub.client.post("/api/v1/enroll", json={"code": good}).status_code == 429


@pytest.mark.slow
def test_enroll_over_tls(tmp_path: Path) -> None:
    with started_broker(tls=True) as broker:
        assert broker.device_port is not None
        for hub in _hub(
            broker,
            tmp_path,
            mqtt_device_host="localhost",
            mqtt_device_port=broker.device_port,
            mqtt_device_tls=True,
        ):
            device_id = hub.new_device()
            creds = hub.enroll(hub.code_for(device_id)["code"])
            assert creds["mqtt_tls"] is True
            assert creds["mqtt_port"] == broker.device_port
            assert "BEGIN CERTIFICATE" in creds["ca_cert"]
            assert parse_enrollment(creds).ca_cert == creds["ca_cert"]
            server, got = server_client(broker)
            subscribe(server, "digibank/v1/devices/+/status")
            device, _ = _device_login(hub, creds, ca_pem=creds["ca_cert"])
            topic = f"digibank/v1/devices/{device_id}/status"
            publish(device, topic, b"online")
            assert [m.payload for m in got.wait_for(1)] == [b"online"]
            close(device)
            close(server)
            # Without TLS the device listener does not talk MQTT at all.
            with pytest.raises((ConnectRefused, TimeoutError, OSError)):
                _device_login(hub, creds, timeout=2)


@pytest.mark.postgres
def test_enrollment_on_postgresql(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("DIGIBANK_TEST_POSTGRES_URL not set")
    with throwaway_database("digibank_enroll") as url:
        for hub in _hub(mosquitto, tmp_path, database_url=url):
            device_id = hub.new_device()
            code = hub.code_for(device_id)["code"]
            creds = hub.enroll(code)
            hub.enroll(code, expect=403)
            client, _ = _device_login(hub, creds)
            close(client)
            r = hub.client.post(
                f"/api/v1/devices/{device_id}/revoke", headers=hub.headers["manager"]
            )
            assert r.json()["revoked"] is True


def test_racing_trades_of_one_code_give_one_account(hub: Hub) -> None:
    code = hub.code_for(hub.new_device())["code"]
    link = broker_link(hub.client.app.state.settings)  # type: ignore[attr-defined]
    outcomes: list[str] = []

    def trade(n: int) -> None:
        with hub.factory() as s:
            try:
                redeem_code(s, code, link, address=f"10.0.0.{n}")
                s.commit()
                outcomes.append("ok")
            except EnrollmentRefused:
                s.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=trade, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]
