"""Test helpers for the real broker: a started MosquittoBroker and small paho MQTT 5 clients."""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from server.broker import MosquittoBroker, free_port


def broker_data_dir(prefix: str = "digibank-broker-") -> Path:
    """A fresh folder the broker's `mosquitto` user can reach (pytest's tmp_path cannot: 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(path, 0o711)
    return path


@contextlib.contextmanager
def started_broker(
    data_dir: Path | None = None, *, device_port: bool = False, tls: bool = False
) -> Iterator[MosquittoBroker]:
    """A MosquittoBroker from broker_config/ on free ports, stopped and removed afterwards."""
    own = data_dir is None
    folder = data_dir or broker_data_dir()
    broker = MosquittoBroker(
        folder,
        free_port(),
        device_port=free_port() if (device_port or tls) else None,
        tls=tls,
        device_bind="127.0.0.1",
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        if own:
            shutil.rmtree(folder, ignore_errors=True)


class ConnectRefused(Exception):
    """The broker refused the connection; `reason` is the MQTT 5 reason code."""

    def __init__(self, reason: Any) -> None:
        super().__init__(f"connection refused: {reason}")
        self.reason = reason


@dataclass
class Received:
    """Messages a test client got, in arrival order; wait for them with `wait_for`."""

    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, msg: mqtt.MQTTMessage) -> None:
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[mqtt.MQTTMessage]:
        """Wait until at least `count` messages arrived (or the timeout); return all so far."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.messages)

    def topics(self) -> list[str]:
        with self.cond:
            return [m.topic for m in self.messages]


def connect(
    host: str,
    port: int,
    username: str | None,
    password: str | None,
    *,
    client_id: str | None = None,
    clean_start: bool = True,
    session_expiry: int | None = None,
    ca_pem: str | None = None,
    timeout: float = 5.0,
) -> tuple[mqtt.Client, Received]:
    """An MQTT 5 client, connected and looping; ConnectRefused with the broker's reason code."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"test-{uuid.uuid4().hex[:12]}",
        protocol=mqtt.MQTTv5,
    )
    if username is not None:
        client.username_pw_set(username, password)
    if ca_pem is not None:
        ctx = ssl.create_default_context(cadata=ca_pem)
        client.tls_set_context(ctx)
    received = Received()
    done = threading.Event()
    result: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result["reason"] = reason
        done.set()

    def on_disconnect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        result.setdefault("reason", reason)
        done.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = lambda _c, _u, msg: received.add(msg)
    props = None
    if session_expiry is not None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = session_expiry
    client.connect(host, port, keepalive=30, clean_start=clean_start, properties=props)
    client.loop_start()
    if not done.wait(timeout):
        client.loop_stop()
        raise TimeoutError(f"no CONNACK from {host}:{port} within {timeout}s")
    reason = result["reason"]
    if reason.is_failure:
        client.disconnect()
        client.loop_stop()
        raise ConnectRefused(reason)
    return client, received


def server_client(broker: MosquittoBroker, **kwargs: Any) -> tuple[mqtt.Client, Received]:
    """A client logged in as the broker's server account."""
    account = broker.server_credentials
    return connect(broker.host, broker.port, account.username, account.password, **kwargs)


def subscribe(client: mqtt.Client, topic: str, qos: int = 1, timeout: float = 5.0) -> list[Any]:
    """Subscribe and wait for SUBACK; returns the granted reason codes."""
    done = threading.Event()
    granted: list[Any] = []

    def on_subscribe(_c: Any, _u: Any, _mid: Any, codes: list[Any], _p: Any) -> None:
        granted.extend(codes)
        done.set()

    client.on_subscribe = on_subscribe
    client.subscribe(topic, qos=qos)
    if not done.wait(timeout):
        raise TimeoutError(f"no SUBACK for {topic}")
    return granted


def publish(client: mqtt.Client, topic: str, payload: bytes | str, qos: int = 1) -> Any:
    """Publish and wait for the acknowledgement; returns the PUBACK reason code (MQTT 5)."""
    done = threading.Event()
    outcome: dict[str, Any] = {}
    info_holder: dict[str, Any] = {}

    def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        if info_holder.get("mid") in (None, mid):
            outcome["reason"] = reason
            done.set()

    client.on_publish = on_publish
    info = client.publish(topic, payload, qos=qos)
    info_holder["mid"] = info.mid
    if qos == 0:
        info.wait_for_publish(5)
        return None
    if not done.wait(5):
        raise TimeoutError(f"no PUBACK for {topic}")
    return outcome["reason"]


def close(client: mqtt.Client) -> None:
    """Disconnect cleanly and stop the network thread."""
    client.disconnect()
    client.loop_stop()
