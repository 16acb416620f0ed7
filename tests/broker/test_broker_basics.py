"""The broker from broker_config/: refuses anonymous clients, keeps the server's queue."""

from __future__ import annotations

import os

import pytest

from agent.report import MAX_REPORT_BYTES
from server.broker import MosquittoBroker, PortInUse, port_accepts
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


def test_stop_leaves_no_process_and_restart_keeps_the_queue() -> None:
    from server.dynsec import DynsecClient
    from tests.mqtt_broker import publish, started_broker

    with started_broker() as broker:
        with DynsecClient(broker.host, broker.port, broker.admin_credentials) as admin:
            admin.provision_device("5151", "pw-5151-secret")
        # clean_start False from the very first connection: Mosquitto 2.0.11 does not save a
        # session begun with clean_start True, whatever its expiry (see broker_config/README).
        server, _ = server_client(
            broker, client_id="restart-test", clean_start=False, session_expiry=3600
        )
        subscribe(server, "digibank/v1/devices/+/health")
        close(server)
        device, _ = connect(
            broker.host, broker.port, "device-5151", "pw-5151-secret", client_id="5151"
        )
        for i in range(5):
            publish(device, "digibank/v1/devices/5151/health", str(i))
        close(device)

        pid = broker.pid
        assert pid is not None
        broker.stop()
        assert not broker.running
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone, not a zombie or an orphan
        assert not port_accepts(broker.host, broker.port)

        broker.start()
        server, got = server_client(
            broker, client_id="restart-test", clean_start=False, session_expiry=3600
        )
        try:
            assert [m.payload for m in got.wait_for(5)] == [str(i).encode() for i in range(5)]
        finally:
            close(server)


def test_config_refuses_anonymous_and_sizes_the_queue(mosquitto: MosquittoBroker) -> None:
    text = mosquitto.config_file.read_text()
    settings = dict(
        line.split(None, 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert settings["allow_anonymous"] == "false"
    assert settings["persistence"] == "true"
    assert int(settings["max_queued_messages"]) >= 500_000
    assert MAX_REPORT_BYTES <= int(settings["message_size_limit"]) <= 64 * 1024
