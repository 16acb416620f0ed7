"""A simulated fleet for ingest tests and bench/ingest.py: devices in the database, a publisher
account on the real broker, report payloads, fast publishing from several processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.report import Battery, Disk, HealthReport, Memory, Temperatures, health_topic
from server.broker import MosquittoBroker
from server.broker_files import BrokerAccount
from server.core.config import Settings
from server.core.db import writing
from server.dynsec import DynsecClient
from server.models import Device, Location

SIM_ROLE = "fleet-simulator"


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom a simulator publishes (plain values: crosses process boundaries)."""

    host: str
    port: int
    username: str
    password: str


def simulator_account(broker: MosquittoBroker) -> Endpoint:
    """An account that may publish every device's health (a test/bench stand-in for a fleet)."""
    password = uuid.uuid4().hex
    username = f"fleet-sim-{uuid.uuid4().hex[:8]}"
    acls = [
        {"acltype": "publishClientSend", "topic": "digibank/v1/devices/+/health", "allow": True},
        {"acltype": "publishClientSend", "topic": "digibank/v1/devices/+/status", "allow": True},
    ]
    with DynsecClient(broker.host, broker.port, broker.admin_credentials) as dyn:
        dyn.check(
            [{"command": "createRole", "rolename": SIM_ROLE, "acls": acls}],
            ("Role already exists",),
        )
        dyn.check(
            [
                {
                    "command": "createClient",
                    "username": username,
                    "password": password,
                    "roles": [{"rolename": SIM_ROLE}],
                }
            ]
        )
    return Endpoint(broker.host, broker.port, username, password)


def server_endpoint(broker: MosquittoBroker) -> BrokerAccount:
    """The server account of a broker."""
    return broker.server_credentials


def make_devices(
    factory: sessionmaker[Session], n: int, *, state: str = "on_loan", prefix: str = "T"
) -> list[int]:
    """Create `n` devices at a hub; their ids."""
    with factory() as session:
        writing(session)
        hub = session.scalar(select(Location).where(Location.kind == "hub"))
        if hub is None:
            hub = Location(kind="hub", name=f"hub-{uuid.uuid4().hex[:6]}")
            session.add(hub)
            session.flush()
        devices = [
            Device(
                asset_tag=f"{prefix}{uuid.uuid4().hex[:12]}",
                kind="laptop",
                location_id=hub.id,
                state=state,
            )
            for _ in range(n)
        ]
        session.add_all(devices)
        session.commit()
        return [d.id for d in devices]


_BASE = HealthReport(
    device_id="0",
    seq=0,
    measured_at=datetime(2026, 1, 1, tzinfo=UTC),
    agent_version="0.1.0",
    os_name="Debian GNU/Linux",
    os_version="12",
    uptime_s=3600,
    battery=Battery(
        charge_pct=64.0,
        plugged_in=False,
        design_capacity_wh=50.0,
        full_capacity_wh=46.0,
        cycle_count=210,
        status="Discharging",
    ),
    disks=(
        Disk(
            kind="nvme",
            size_bytes=256_060_514_304,
            free_bytes=120_000_000_000,
            smart_passed=True,
            power_on_hours=2100,
            temperature_c=38.0,
            nvme_critical_warning=0,
            percentage_used=4,
            media_errors=0,
        ),
    ),
    memory=Memory(total_bytes=8_000_000_000, available_bytes=5_000_000_000),
    temperatures=Temperatures(cpu_c=52.0, disk_c=38.0),
)


def report(
    device_id: int | str, seq: int, *, measured_at: datetime | None = None, **changes: Any
) -> HealthReport:
    """A healthy report of a device, with `changes` applied to its fields."""
    return replace(
        _BASE,
        device_id=str(device_id),
        seq=seq,
        measured_at=measured_at or datetime.now(UTC),
        **changes,
    )


def payload(device_id: int | str, seq: int, **changes: Any) -> bytes:
    """The wire form of `report(...)`."""
    return report(device_id, seq, **changes).to_json()


def connect(ep: Endpoint, *, client_id: str | None = None, timeout: float = 10.0) -> mqtt.Client:
    """A connected MQTT 5 publisher with a large in-flight window."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"sim-{uuid.uuid4().hex[:10]}",
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(ep.username, ep.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    done = threading.Event()
    client.on_connect = lambda *_a: done.set()
    client.connect(ep.host, ep.port, keepalive=30)
    client.loop_start()
    if not done.wait(timeout):
        raise TimeoutError("simulator could not connect")
    return client


NO_MATCHING_SUBSCRIBERS = 16


def publish_all(
    ep: Endpoint,
    items: Sequence[tuple[str, bytes]],
    timeout: float = 120.0,
    *,
    retry_unrouted: bool = False,
) -> int:
    """Publish QoS 1 messages and wait for every PUBACK; how many the broker accepted.

    With `retry_unrouted`, a message acknowledged with "No matching subscribers" (MQTT 5
    reason 16: accepted, but nobody will get it, e.g. just after a broker restart) is sent
    again until someone is subscribed, as an agent's spool must do.
    """
    client = connect(ep)
    accepted = 0
    lock = threading.Lock()  # never held while calling paho (its callbacks hold its own locks)
    done = threading.Event()
    outstanding = len(items)
    by_mid: dict[int, tuple[str, bytes]] = {}
    early: dict[int, Any] = {}  # acknowledged before its mid was recorded
    again: list[tuple[str, bytes]] = []

    def settle(item: tuple[str, bytes], reason: Any) -> None:
        nonlocal accepted, outstanding
        if retry_unrouted and reason.value == NO_MATCHING_SUBSCRIBERS:
            again.append(item)
            return
        outstanding -= 1
        if not reason.is_failure:
            accepted += 1
        if outstanding == 0:
            done.set()

    def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with lock:
            item = by_mid.pop(mid, None)
            if item is None:
                early[mid] = reason
            else:
                settle(item, reason)

    client.on_publish = on_publish
    if not items:
        done.set()
    pending = list(items)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for item in pending:
            info = client.publish(item[0], item[1], qos=1)
            with lock:
                if info.mid in early:
                    settle(item, early.pop(info.mid))
                else:
                    by_mid[info.mid] = item
        pending = []
        while not done.is_set() and time.monotonic() < deadline:
            done.wait(0.2)
            with lock:
                pending, again[:] = list(again), []
            if pending:
                time.sleep(0.2)  # nobody subscribed yet: try again shortly
                break
    client.disconnect()
    client.loop_stop()
    return accepted


def _publish_worker(ep: Endpoint, items: list[tuple[str, bytes]], out: Any) -> None:
    out.put(publish_all(ep, items))


def publish_parallel(ep: Endpoint, items: Sequence[tuple[str, bytes]], processes: int = 3) -> int:
    """Publish from several processes at once (Python costs ~40 µs a publish); total accepted.

    Messages of one device stay in one process, so each device's reports keep their order.
    """
    shares: list[list[tuple[str, bytes]]] = [[] for _ in range(processes)]
    for topic, body in items:
        shares[hash(topic) % processes].append((topic, body))
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_publish_worker, args=(ep, share, out)) for share in shares]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=600) for _ in procs)
    for p in procs:
        p.join()
    return total


def reports_for(ids: Sequence[int], per_device: int, start_seq: int = 0) -> list[tuple[str, bytes]]:
    """(topic, payload) for `per_device` consecutive reports of every device, round-robin."""
    now = datetime.now(UTC)
    return [
        (health_topic(str(i)), payload(i, seq, measured_at=now))
        for seq in range(start_seq, start_seq + per_device)
        for i in ids
    ]


def forget_session(host: str, port: int, account: BrokerAccount, client_id: str) -> None:
    """End a persistent session on the broker (so it stops taking a share of the messages)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(account.username, account.password)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    done = threading.Event()
    client.on_connect = lambda *_a: done.set()
    client.connect(host, port, clean_start=True, properties=props)
    client.loop_start()
    done.wait(10)
    client.disconnect()
    client.loop_stop()


def wait_until(predicate: Any, timeout: float, interval: float = 0.1) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def ingest_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `python -m server.ingest` process with these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIBANK_")}
    env.update(
        DIGIBANK_DATA_DIR=str(settings.data_dir),
        DIGIBANK_DATABASE_URL=settings.database_url,
        DIGIBANK_MQTT_HOST=settings.mqtt_host,
        DIGIBANK_MQTT_PORT=str(settings.mqtt_port),
        DIGIBANK_MQTT_USERNAME=settings.mqtt_username,
        DIGIBANK_MQTT_PASSWORD=settings.mqtt_password,
        DIGIBANK_INGEST_CLIENT_ID=settings.ingest_client_id,
        DIGIBANK_INGEST_GROUP=settings.ingest_group,
        **extra,
    )
    return env
