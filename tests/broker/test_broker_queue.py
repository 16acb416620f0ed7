"""The server's persistent session keeps far more than Mosquitto's default 1,000 messages."""

from __future__ import annotations

import secrets
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from server.broker import MosquittoBroker
from server.dynsec import DynsecClient, device_account
from tests.mqtt_broker import close, connect, server_client, subscribe

MESSAGES = 3000  # three times Mosquitto's default max_queued_messages


@pytest.mark.slow
def test_offline_server_session_gets_every_queued_message(mosquitto: MosquittoBroker) -> None:
    device_id, password = str(800_000 + secrets.randbelow(99_999)), secrets.token_urlsafe(16)
    with DynsecClient(mosquitto.host, mosquitto.port, mosquitto.admin_credentials) as admin:
        admin.provision_device(device_id, password)
    topic = f"digibank/v1/devices/{device_id}/health"
    session = f"queue-test-{device_id}"
    # Create the persistent session with its subscription, then go away.
    server, _ = server_client(mosquitto, client_id=session, clean_start=True, session_expiry=3600)
    subscribe(server, f"$share/queuetest/{topic}")
    close(server)

    acct = device_account(device_id)
    device, _ = connect(
        mosquitto.host, mosquitto.port, acct.username, password, client_id=acct.client_id
    )
    infos = [device.publish(topic, f"{i:06d}".encode() * 50, qos=1) for i in range(MESSAGES)]
    for info in infos:
        info.wait_for_publish(30)
    close(device)

    server, got = server_client(mosquitto, client_id=session, clean_start=False)
    try:
        messages = got.wait_for(MESSAGES, timeout=30)
        time.sleep(0.2)  # anything beyond would be a duplicate
        seqs = [int(m.payload[:6]) for m in got.messages]
        assert len(seqs) == MESSAGES
        assert seqs == list(range(MESSAGES))  # all of them, in order
        assert len(messages) == MESSAGES
    finally:
        server.disconnect()
        server.loop_stop()
        _drop_session(mosquitto, session)


def _drop_session(broker: MosquittoBroker, client_id: str) -> None:
    """Clear the test's persistent session so it queues nothing for the rest of the run."""
    account = broker.server_credentials
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.username_pw_set(account.username, account.password)
    c.connect(broker.host, broker.port, clean_start=True)
    c.loop_start()
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()
