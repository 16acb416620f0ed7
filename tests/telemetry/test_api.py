"""The app with its background services on the real broker: /healthz says ingest is connected,
reports show up in the API and /metrics, a manager's command reaches the device's agent."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from agent.report import Battery, Command, commands_topic, health_topic
from server.app import create_app
from server.broker import MosquittoBroker, free_port
from server.core.config import Settings
from server.dynsec import DynsecClient
from server.security import issue_token
from tests.mqtt_broker import broker_data_dir, close, connect, subscribe
from tests.telemetry.fleet import (
    Endpoint,
    forget_session,
    make_devices,
    payload,
    publish_all,
    simulator_account,
    wait_until,
)


@pytest.fixture
def client(tsettings: Settings, mosquitto: MosquittoBroker) -> Iterator[TestClient]:
    """The app, its ingest and scheduler running, with a manager's bearer token set."""
    app = create_app(tsettings)
    with TestClient(app) as c:
        with app.state.sessionmaker() as s:
            token = issue_token(s, name="manager-test", role="manager", user_id=None, ttl=None)
            s.commit()
        c.headers["Authorization"] = f"Bearer {token}"
        yield c
    forget_session(
        mosquitto.host, mosquitto.port, mosquitto.server_credentials, tsettings.ingest_client_id
    )


def test_reports_flow_into_the_api_and_metrics(
    client: TestClient, factory: sessionmaker[Session], sim: Endpoint
) -> None:
    assert wait_until(lambda: client.get("/healthz").json()["services"]["ingest"]["connected"], 10)
    dev, other = make_devices(factory, 2)
    worn = Battery(design_capacity_wh=50.0, full_capacity_wh=35.0)
    items = [(health_topic(str(dev)), payload(dev, seq, battery=worn)) for seq in range(5)]
    items.append((health_topic(str(dev)), b"{broken"))
    assert publish_all(sim, items) == 6

    def stats() -> dict:
        return client.get("/api/v1/ingest/stats").json()

    assert wait_until(lambda: stats()["stored"] == 5 and stats()["dropped"]["malformed"] == 1, 15)
    assert stats()["dropped"]["spoofed"] == 0
    page = client.get(f"/api/v1/devices/{dev}/health", params={"limit": 2}).json()
    assert [i["seq"] for i in page["items"]] == [4, 3]
    assert page["presence"] == "online"
    assert page["items"][0]["report"]["battery"]["full_capacity_wh"] == 35.0
    rest = client.get(
        f"/api/v1/devices/{dev}/health", params={"before_seq": page["next_before_seq"]}
    )
    assert [i["seq"] for i in rest.json()["items"]] == [2, 1, 0]
    assert rest.json()["next_before_seq"] is None
    assert client.get(f"/api/v1/devices/{other}/health").json()["presence"] == "never"
    assert client.get("/api/v1/devices/999999/health").status_code == 404

    metrics = client.get("/metrics").text
    assert "digibank_reports_stored_total 5.0" in metrics
    assert 'digibank_reports_dropped_total{reason="malformed"} 1.0' in metrics
    assert 'digibank_flags_open{kind="repair",reason="battery_health"} 1.0' in metrics
    assert 'digibank_devices{presence="online"} 1.0' in metrics
    assert 'digibank_devices{presence="never"} 1.0' in metrics
    assert "digibank_ingest_lag_seconds{" in metrics
    # The flag the worn battery raised is the one the flags API lists.
    flags = client.get("/api/v1/flags", params={"device_id": dev}).json()["items"]
    assert [(f["reason"], f["severity"]) for f in flags] == [("battery_health", "warning")]


def test_a_manager_sends_a_reminder_that_reaches_the_device(
    client: TestClient, factory: sessionmaker[Session], mosquitto: MosquittoBroker
) -> None:
    (dev,) = make_devices(factory, 1)
    password = uuid.uuid4().hex
    with DynsecClient(mosquitto.host, mosquitto.port, mosquitto.admin_credentials) as dyn:
        account = dyn.provision_device(str(dev), password)
    agent, received = connect(
        mosquitto.host, mosquitto.port, account.username, password, client_id=account.client_id
    )
    try:
        subscribe(agent, commands_topic(str(dev)))
        body = {"type": "notify", "title": "Digibank", "message": "Breng de laptop vrijdag terug."}
        resp = client.post(f"/api/v1/devices/{dev}/commands", json=body)
        assert resp.status_code == 202, resp.text
        (msg,) = received.wait_for(1, timeout=5)
        assert Command.from_json(msg.payload) == Command(
            type="notify", title="Digibank", message=body["message"]
        )
        bad = client.post(
            f"/api/v1/devices/{dev}/commands", json={"type": "set_interval", "interval_s": 5}
        )
        assert bad.status_code == 422 and "interval_s" in bad.text
    finally:
        close(agent)


def test_telemetry_routes_need_staff(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    assert anonymous.get("/api/v1/ingest/stats").status_code == 401
    assert (
        anonymous.post("/api/v1/devices/1/commands", json={"type": "report_now"}).status_code == 401
    )


def test_the_api_serves_while_the_broker_is_down_and_ingest_connects_when_it_is_up(
    tsettings: Settings, factory: sessionmaker[Session]
) -> None:
    folder = broker_data_dir()
    broker = MosquittoBroker(folder, free_port(), device_bind="127.0.0.1")
    account = broker.server_credentials
    settings = tsettings.model_copy(
        update={
            "mqtt_port": broker.port,
            "mqtt_username": account.username,
            "mqtt_password": account.password,
        }
    )
    (dev,) = make_devices(factory, 1)
    try:
        with TestClient(create_app(settings)) as c:
            health = c.get("/healthz").json()
            assert health["status"] == "ok"
            assert health["services"]["ingest"]["connected"] is False
            assert "digibank_ingest_connected" in c.get("/metrics").text
            broker.start()
            assert wait_until(
                lambda: c.get("/healthz").json()["services"]["ingest"]["connected"], 30
            )
            sim = simulator_account(broker)
            assert publish_all(sim, [(health_topic(str(dev)), payload(dev, 1))]) == 1
            assert wait_until(
                lambda: c.get("/healthz").json()["services"]["ingest"]["stored"] == 1, 10
            )
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
