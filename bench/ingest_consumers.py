"""Consumer processes for bench/ingest.py: a bare paho subscriber (receive and acknowledge,
nothing else) and `python -m server.ingest` processes, each on its own persistent session."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import text

from agent.report import shared_subscription
from server.core.config import Settings
from tests.telemetry.fleet import ingest_env

ROOT = Path(__file__).resolve().parent.parent


def _session_props() -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 2000
    return props


def bare_subscriber(host: str, port: int, user: str, pw: str, group: str, n: int, out: Any) -> None:
    """Receive and acknowledge `n` messages on a persistent shared session; report the rate."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"bare-{group}",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )
    client.username_pw_set(user, pw)
    seen = {"n": 0, "first": 0.0, "last": 0.0}
    done = threading.Event()

    def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        c.ack(msg.mid, msg.qos)
        seen["n"] += 1
        now = time.monotonic()
        if seen["n"] == 1:
            seen["first"] = now
        seen["last"] = now
        if seen["n"] >= n:
            done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_a: c.subscribe(shared_subscription("health", group), qos=1)
    client.connect(host, port, clean_start=False, properties=_session_props())
    client.loop_start()
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    span = max(seen["last"] - seen["first"], 1e-9)
    out.put({"received": seen["n"], "seconds": span, "rate": (seen["n"] - 1) / span})


def register_bare(ep: Any, group: str) -> None:
    """Create the bare subscriber's persistent session (then leave it queueing)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bare-{group}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(ep.username, ep.password)
    ready = threading.Event()
    client.on_subscribe = lambda *_a: ready.set()
    client.on_connect = lambda c, *_a: c.subscribe(shared_subscription("health", group), qos=1)
    client.connect(ep.host, ep.port, clean_start=True, properties=_session_props())
    client.loop_start()
    ready.wait(10)
    client.disconnect()
    client.loop_stop()


def spawn_ingest(
    settings: Settings, client_id: str, group: str, log: Path
) -> subprocess.Popen[bytes]:
    """`python -m server.ingest` for these settings."""
    env = ingest_env(
        settings.model_copy(update={"ingest_client_id": client_id, "ingest_group": group}),
        DIGIBANK_INGEST_BATCH_SIZE=str(settings.ingest_batch_size),
        DIGIBANK_INGEST_BATCH_MS=str(settings.ingest_batch_ms),
        # Several batches in flight, so the broker never waits for a commit to send more.
        DIGIBANK_INGEST_RECEIVE_MAXIMUM=str(min(65535, 5 * settings.ingest_batch_size)),
    )
    fh = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "server.ingest"], cwd=ROOT, env=env, stdout=fh, stderr=fh
    )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM the ingest processes and wait for them."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(60)


def wait_for_log(log: Path, line: str, timeout: float = 30) -> None:
    """Wait until the ingest log shows `line`."""
    deadline = time.monotonic() + timeout
    while line.encode() not in log.read_bytes():
        if time.monotonic() > deadline:
            raise TimeoutError(f"ingest log never said {line!r}")
        time.sleep(0.1)


def stored_count(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM health_reports")).scalar() or 0)
