"""The broker from broker_config/: refuses anonymous clients, keeps the server's queue."""

from __future__ import annotations

import pytest

from server.broker import MosquittoBroker, PortInUse
from tests.mqtt_broker import ConnectRefused, close, connect, server_client, subscribe


def test_anonymous_connect_refused(mosquitto: MosquittoBroker) -> None:
    with pytest.raises(ConnectRefused) as err:
        connect(mosquitto.host, mosquitto.port, None, None)
    assert err.value.reason.value in (134, 135)  # bad user name or password / not authorized


def test_wrong_password_refused(mosquitto: MosquittoBroker) -> None:
    with pytest.raises(ConnectRefused):
        connect(mosquitto.host, mosquitto.port, mosquitto.server_credentials.username, "nope")


def test_server_account_subscribes_to_all_health(mosquitto: MosquittoBroker) -> None:
    client, _ = server_client(mosquitto)
    try:
        codes = subscribe(client, "$share/ingest/digibank/v1/devices/+/health")
        assert codes[0].value == 1  # granted QoS 1
    finally:
        close(client)


def test_taken_port_is_reported(mosquitto: MosquittoBroker) -> None:
    other = MosquittoBroker(mosquitto.data_dir / "unused", mosquitto.port)
    with pytest.raises(PortInUse) as err:
        other.start()
    assert err.value.port == mosquitto.port
