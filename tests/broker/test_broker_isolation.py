"""Per-device accounts from the dynsec plugin: each device stays inside its own topics."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from agent.report import MAX_REPORT_BYTES
from server.broker import MosquittoBroker
from server.dynsec import DynsecClient, device_account
from tests.mqtt_broker import (
    ConnectRefused,
    Received,
    close,
    connect,
    publish,
    server_client,
    subscribe,
)

TOPIC = "digibank/v1/devices/{}/{}"


@pytest.fixture
def admin(mosquitto: MosquittoBroker) -> Iterator[DynsecClient]:
    with DynsecClient(mosquitto.host, mosquitto.port, mosquitto.admin_credentials) as client:
        yield client


def _device_id() -> str:
    # Distinct per test: the broker is shared by the whole session.
    return str(900_000 + secrets.randbelow(99_999))


def _device(mosquitto: MosquittoBroker, admin: DynsecClient) -> tuple[str, str]:
    device_id, password = _device_id(), secrets.token_urlsafe(16)
    admin.provision_device(device_id, password)
    return device_id, password


def _login(
    mosquitto: MosquittoBroker, device_id: str, password: str, **kw: Any
) -> tuple[mqtt.Client, Received]:
    acct = device_account(device_id)
    return connect(
        mosquitto.host, mosquitto.port, acct.username, password, client_id=acct.client_id, **kw
    )


def test_device_cannot_publish_as_another(mosquitto: MosquittoBroker, admin: DynsecClient) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    b_id, _ = _device(mosquitto, admin)
    server, got = server_client(mosquitto)
    subscribe(server, "digibank/v1/devices/+/health")
    device_a, _ = _login(mosquitto, a_id, a_pw)
    try:
        spoofed = publish(device_a, TOPIC.format(b_id, "health"), b'{"spoof": true}')
        own = publish(device_a, TOPIC.format(a_id, "health"), b'{"own": true}')
        # The own report arrives; by then the spoofed one (sent first) would have too.
        msgs = got.wait_for(1)
        time.sleep(0.2)
        topics = got.topics()
        assert topics == [TOPIC.format(a_id, "health")], topics
        assert msgs[0].payload == b'{"own": true}'
        assert spoofed.value == 135 and not own.is_failure  # MQTT 5 "not authorized"
    finally:
        close(device_a)
        close(server)


def test_device_cannot_read_another_devices_commands(
    mosquitto: MosquittoBroker, admin: DynsecClient
) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    b_id, b_pw = _device(mosquitto, admin)
    device_a, got_a = _login(mosquitto, a_id, a_pw)
    device_b, got_b = _login(mosquitto, b_id, b_pw)
    server, _ = server_client(mosquitto)
    try:
        assert subscribe(device_a, TOPIC.format(b_id, "commands"))[0].is_failure
        assert subscribe(device_a, "digibank/v1/devices/+/commands")[0].is_failure
        assert subscribe(device_a, "#")[0].is_failure
        assert not subscribe(device_a, TOPIC.format(a_id, "commands"))[0].is_failure
        assert not subscribe(device_b, TOPIC.format(b_id, "commands"))[0].is_failure
        publish(server, TOPIC.format(b_id, "commands"), b'{"type":"report_now"}')
        publish(server, TOPIC.format(a_id, "commands"), b'{"type":"report_now","for":"a"}')
        assert [m.payload for m in got_b.wait_for(1)] == [b'{"type":"report_now"}']
        assert [m.payload for m in got_a.wait_for(1)] == [b'{"type":"report_now","for":"a"}']
    finally:
        for c in (device_a, device_b, server):
            close(c)


def test_device_cannot_read_other_devices_health(
    mosquitto: MosquittoBroker, admin: DynsecClient
) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    device_a, _ = _login(mosquitto, a_id, a_pw)
    try:
        for topic in ("digibank/v1/devices/+/health", "$share/x/digibank/v1/devices/+/health"):
            assert subscribe(device_a, topic)[0].is_failure, topic
    finally:
        close(device_a)


def test_client_id_is_bound_to_the_device(mosquitto: MosquittoBroker, admin: DynsecClient) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    b_id, _ = _device(mosquitto, admin)
    acct = device_account(a_id)
    # Device A's password with device B's client id: its session is B's, so refused.
    with pytest.raises(ConnectRefused):
        connect(mosquitto.host, mosquitto.port, acct.username, a_pw, client_id=b_id)


def test_revoked_device_cannot_connect(mosquitto: MosquittoBroker, admin: DynsecClient) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    device_a, _ = _login(mosquitto, a_id, a_pw)
    close(device_a)
    admin.delete_device(a_id)
    with pytest.raises(ConnectRefused) as err:
        _login(mosquitto, a_id, a_pw)
    assert err.value.reason.value in (134, 135)
    assert not admin.device_exists(a_id)


def test_revocation_drops_a_live_connection(
    mosquitto: MosquittoBroker, admin: DynsecClient
) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    device_a, _ = _login(mosquitto, a_id, a_pw)
    try:
        admin.delete_device(a_id)
        deadline = time.monotonic() + 5
        while device_a.is_connected() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not device_a.is_connected()
    finally:
        close(device_a)


def test_disabled_device_cannot_connect_until_enabled(
    mosquitto: MosquittoBroker, admin: DynsecClient
) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    admin.disable_device(a_id)
    with pytest.raises(ConnectRefused):
        _login(mosquitto, a_id, a_pw)
    admin.enable_device(a_id)
    client, _ = _login(mosquitto, a_id, a_pw)
    close(client)


def test_device_account_survives_broker_restart() -> None:
    from tests.mqtt_broker import started_broker

    with started_broker() as broker:
        with DynsecClient(broker.host, broker.port, broker.admin_credentials) as admin:
            admin.provision_device("4242", "pw-4242-secret")
        broker.stop()
        broker.start()
        client, _ = connect(
            broker.host, broker.port, "device-4242", "pw-4242-secret", client_id="4242"
        )
        close(client)


def test_last_will_on_own_status_reaches_the_server(
    mosquitto: MosquittoBroker, admin: DynsecClient
) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    status = TOPIC.format(a_id, "status")
    server, got = server_client(mosquitto)
    subscribe(server, "digibank/v1/devices/+/status")
    acct = device_account(a_id)
    device = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=acct.client_id, protocol=mqtt.MQTTv5
    )
    device.username_pw_set(acct.username, a_pw)
    device.will_set(status, b"offline", qos=1, retain=True)
    device.connect(mosquitto.host, mosquitto.port)
    device.loop_start()
    try:
        deadline = time.monotonic() + 5
        while not device.is_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
        publish(device, status, b"online")
        # Reason code 4: "disconnect with will message", as a crash or lost network would.
        device.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=4))
        # The broker is shared by the session: other tests' retained statuses arrive too.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            mine = [(m.topic, m.payload) for m in got.messages if m.topic == status]
            if len(mine) >= 2:
                break
            time.sleep(0.02)
        assert mine == [(status, b"online"), (status, b"offline")]
    finally:
        device.loop_stop()
        close(server)


def test_oversized_payload_stops_at_the_broker(
    mosquitto: MosquittoBroker, admin: DynsecClient
) -> None:
    a_id, a_pw = _device(mosquitto, admin)
    health = TOPIC.format(a_id, "health")
    server, got = server_client(mosquitto)
    subscribe(server, "digibank/v1/devices/+/health")
    device, _ = _login(mosquitto, a_id, a_pw)
    dropped = threading.Event()
    device.on_disconnect = lambda *_args: dropped.set()
    try:
        # Just over the agent's limit still reaches the server (which counts it as oversized).
        assert not publish(device, health, b"n" * (MAX_REPORT_BYTES + 1)).is_failure
        # Far over it, Mosquitto 2.0.11 drops the message and the connection (no PUBACK).
        device.publish(health, b"h" * (10 * MAX_REPORT_BYTES), qos=1)
        assert dropped.wait(5)
        time.sleep(0.3)
        assert [len(m.payload) for m in got.messages] == [MAX_REPORT_BYTES + 1]
    finally:
        close(device)
        close(server)
