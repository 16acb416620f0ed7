"""IngestClient's shortcuts against paho's own behaviour: the same reports, ids and acks.

The direct path for plain QoS 1 reports must hand over exactly what paho's decoding gives
its on_message; everything else must still reach on_message; buffered reads must deliver
every byte across the buffer's edges; one bulk acknowledgement must settle exactly the
messages it names (the broker redelivers the others).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from agent.report import health_topic, shared_subscription
from server.broker import MosquittoBroker
from server.ingest_client import IngestClient
from tests.telemetry.fleet import Endpoint, forget_session, publish_all


def _client(client_id: str = "") -> IngestClient:
    return IngestClient(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
    )


def _publish_body(topic: bytes, mid: int, payload: bytes, props: bytes | None) -> bytearray:
    """A PUBLISH packet after its fixed header: topic, packet id, properties, payload."""
    body = len(topic).to_bytes(2, "big") + topic
    if mid:
        body += mid.to_bytes(2, "big")
    return bytearray(body + (props if props is not None else b"\x00") + payload)


def _handled(client: IngestClient, qos: int, body: bytearray) -> list[tuple[Any, ...]]:
    """What handling this received PUBLISH gives: ('report', …) or ('message', …) calls."""
    seen: list[tuple[Any, ...]] = []
    client.on_message = lambda _c, _u, m: seen.append(("message", m.topic, bytes(m.payload), m.mid))
    client._in_packet = {"command": 0x30 | (qos << 1), "packet": bytearray(body)}
    assert client._handle_publish() == mqtt.MQTT_ERR_SUCCESS
    return seen


def _user_props() -> bytes:
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("sent-by", "test")
    return bytes(props.pack())


@pytest.mark.parametrize(
    ("qos", "mid", "props", "direct"),
    [
        (1, 517, None, True),  # what agents send: QoS 1, no properties
        (1, 65535, None, True),
        (1, 9, "user", False),  # properties: paho decodes them
        (0, 0, None, False),  # QoS 0: paho's way
    ],
)
def test_direct_path_gives_what_paho_decodes(
    qos: int, mid: int, props: str | None, direct: bool
) -> None:
    topic = b"digibank/v1/devices/42/health"
    payload = b'{"schema": 1, "note": "caf\xc3\xa9"}' + bytes(range(256))
    body = _publish_body(topic, mid, payload, _user_props() if props else None)
    client = _client()
    reports: list[tuple[Any, ...]] = []
    client.on_report = lambda t, p, m: reports.append(("message", t, bytes(p), m))
    via_client = _handled(client, qos, body)
    via_client = reports + via_client
    client.on_report = None
    via_paho = _handled(client, qos, body)
    assert via_paho == [("message", topic.decode(), payload, mid)]
    assert via_client == via_paho
    assert bool(reports) is direct


def test_topic_that_is_not_utf8_goes_to_paho() -> None:
    client = _client()
    reports: list[Any] = []
    client.on_report = lambda *a: reports.append(a)
    body = _publish_body(b"digibank/v1/devices/\xff/health", 3, b"{}", None)
    client.on_message = lambda *_a: None
    client._in_packet = {"command": 0x32, "packet": body}
    client._handle_publish()
    assert reports == []


def _drain(client: IngestClient, want: int, ack_first: int = 0, timeout: float = 30.0) -> None:
    """Read until `want` messages arrived, acknowledging the first `ack_first` in bulk (the
    broker keeps at most its in-flight window unacknowledged, so they go as they come)."""
    got = client.got  # type: ignore[attr-defined]
    acked = 0
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        client.loop(timeout=0.05)
        upto = min(len(got), ack_first)
        if upto - acked >= 40 or (upto == ack_first and upto > acked):
            client.ack_many([mid for _, _, mid in got[acked:upto]])
            acked = upto


def _subscriber(mosquitto: MosquittoBroker, client_id: str, group: str) -> IngestClient:
    client = _client(client_id)
    account = mosquitto.server_credentials
    client.username_pw_set(account.username, account.password)
    got: list[tuple[str, bytes, int]] = []
    client.got = got  # type: ignore[attr-defined]
    client.on_report = lambda topic, payload, mid: got.append((topic, bytes(payload), mid))
    subscribed: list[bool] = []
    client.on_subscribe = lambda *_a: subscribed.append(True)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 300
    client.connect(mosquitto.host, mosquitto.port, clean_start=False, properties=props)
    client.subscribe(shared_subscription("health", group), options=SubscribeOptions(qos=1))
    deadline = time.monotonic() + 10
    while not subscribed and time.monotonic() < deadline:
        client.loop(timeout=0.05)
    assert subscribed, "no SUBACK"
    return client


def test_buffered_reads_and_bulk_acks_on_the_real_broker(
    mosquitto: MosquittoBroker, sim: Endpoint
) -> None:
    group = f"c{uuid.uuid4().hex[:8]}"
    client_id = f"ic-{uuid.uuid4().hex[:8]}"
    client = _subscriber(mosquitto, client_id, group)
    # Sizes from a few bytes to 30 KB (the broker takes up to 32 KiB), so packets straddle
    # the 64 KiB read buffer's edges.
    items = [
        (health_topic(str(900_000 + i % 7)), f"{i:06d}".encode() + b"x" * ((i * 977) % 30_000))
        for i in range(1500)
    ]
    assert publish_all(sim, items) == len(items)
    # Acknowledged in bulk as they come, all but the last 60.
    _drain(client, len(items), ack_first=len(items) - 60)
    got = client.got  # type: ignore[attr-defined]
    assert [(t, p) for t, p, _ in got] == items  # every byte, in order (one publisher)
    client.loop(timeout=0.2)
    client.disconnect()
    client.loop(timeout=0.2)
    # The same session again: the broker delivers exactly the 60 not acknowledged.
    again = _subscriber(mosquitto, client_id, group)
    try:
        _drain(again, 60, timeout=15)
        time.sleep(0.5)
        _drain(again, 61, timeout=0.5)  # nothing more comes
        redelivered = [p for _, p, _ in again.got]  # type: ignore[attr-defined]
        assert redelivered == [p for _, p in items[-60:]]
    finally:
        again.disconnect()
        forget_session(mosquitto.host, mosquitto.port, mosquitto.server_credentials, client_id)
