"""Benchmark ingest: drain a queued backlog into SQLite and PostgreSQL beside a bare subscriber,
two ingest processes sharing the subscription, and a live run with publish->commit latency.

One real Mosquitto from broker_config/ (free port, its own folder). Every consumer has its
own persistent session in its own shared-subscription group, registered before publishing,
so each receives the same backlog: 10,000 devices x 10 reports = 100,000 QoS 1 messages,
queued while everything is stopped. Then, one at a time on the same broker: a bare paho
subscriber (receive and acknowledge, nothing else); one ingest process into SQLite; one into
PostgreSQL; two ingest processes sharing a group (PostgreSQL, then SQLite); the bare
subscriber again on a second queued group. Each ratio is to the mean of the two bare rates
(the machine's speed drifts within a run). Rates run from the first stored report to the
last (process start-up excluded). Finally a live run: 1,000 reports/s offered for
--live-seconds while ingest runs (SQLite, then PostgreSQL); latency = the moment a report is
visible in the database (polled every 20 ms) minus the moment it was published.

    .venv/bin/python bench/ingest.py [--devices 10000] [--reports 10] [--pg URL] [--live-seconds 20]

Prints the figures and writes them to bench/results/ingest.json (not committed).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from agent.report import health_topic  # noqa: E402
from bench.ingest_consumers import (  # noqa: E402
    bare_subscriber,
    register_bare,
    spawn_ingest,
    stop,
    stored_count,
    wait_for_log,
)
from server.broker import MosquittoBroker  # noqa: E402
from server.core.config import Settings, load_settings  # noqa: E402
from server.core.db import make_engine, make_sessionmaker  # noqa: E402
from server.core.migrate import upgrade  # noqa: E402
from tests.mqtt_broker import started_broker  # noqa: E402
from tests.telemetry.fleet import (  # noqa: E402
    Endpoint,
    make_devices,
    payload,
    publish_parallel,
    reports_for,
    simulator_account,
)

TARGET_RATIO = 0.70
TARGET_RATE = 5000.0


def drain(
    settings: Settings, engine: Any, group: str, clients: list[str], n: int, log: Path
) -> dict[str, Any]:
    """Start ingest process(es) on a queued group and time the stored count from first to n."""
    procs = [spawn_ingest(settings, cid, group, log) for cid in clients]
    first_t, first_n, last_t, count = 0.0, 0, 0.0, 0
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        count = stored_count(engine)
        now = time.monotonic()
        if count and not first_t:
            first_t, first_n = now, count
        if count >= n:
            last_t = now
            break
        time.sleep(0.1)
    stop(procs)
    span = max(last_t - first_t, 1e-9)
    return {"stored": count, "seconds": round(span, 2), "rate": round((count - first_n) / span)}


# --- databases ---------------------------------------------------------------------------


def fresh_settings(base: dict[str, Any], url: str, folder: Path) -> Settings:
    """Settings on an empty migrated database (SQLite in folder, or a new PostgreSQL db)."""
    if url:
        name = f"digibank_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = url.rsplit("/", 1)[0] + "/" + name
    settings = load_settings(data_dir=folder, database_url=url, **base)
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    return settings


def drop_pg(settings: Settings) -> None:
    if not settings.database_url:
        return
    admin_url = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    name = settings.database_url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- live run ------------------------------------------------------------------------------


def paced_publisher(
    ep: Endpoint, ids: list[int], rate: int, seconds: int, seq0: int, out: Any
) -> None:
    """Publish `rate` reports/s for `seconds`, round-robin over devices; publish times out."""
    from tests.telemetry.fleet import connect

    client = connect(ep)
    sent: dict[str, float] = {}
    start = time.monotonic()
    total = rate * seconds
    for k in range(total):
        due = start + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        device = ids[k % len(ids)]
        seq = seq0 + k // len(ids)
        client.publish(health_topic(str(device)), payload(device, seq), qos=1)
        sent[f"{device}:{seq}"] = time.time()
    time.sleep(1)
    client.disconnect()
    client.loop_stop()
    out.put({"sent": sent, "offered_rate": total / (time.monotonic() - start - 1)})


def live_run(
    settings: Settings,
    engine: Any,
    ep: Endpoint,
    ids: list[int],
    rate: int,
    seconds: int,
    log: Path,
) -> dict[str, Any]:
    """Ingest running while reports arrive at `rate`/s: publish->visible-commit latency."""
    client_id = f"live-{uuid.uuid4().hex[:6]}"
    proc = spawn_ingest(settings, client_id, client_id, log)
    wait_for_log(log, f"ingest {client_id} connected")
    time.sleep(0.5)
    with engine.connect() as conn:
        last_id = int(
            conn.execute(text("SELECT coalesce(max(id), 0) FROM health_reports")).scalar() or 0
        )
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    pub = ctx.Process(target=paced_publisher, args=(ep, ids, rate, seconds, 1000, out))
    pub.start()
    seen: dict[str, float] = {}
    deadline = time.monotonic() + seconds + 30
    while time.monotonic() < deadline and len(seen) < rate * seconds:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, device_id, seq FROM health_reports WHERE id > :i ORDER BY id"),
                {"i": last_id},
            ).all()
        now = time.time()
        for rid, device, seq in rows:
            seen[f"{device}:{seq}"] = now
            last_id = max(last_id, rid)
        time.sleep(0.02)
    result = out.get(timeout=60)
    pub.join()
    stop([proc])
    lat = sorted(seen[k] - t for k, t in result["sent"].items() if k in seen)
    missing = len(result["sent"]) - len(lat)

    def pct(p: float) -> float:
        return round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 1) if lat else float("nan")

    return {
        "offered_rate": round(result["offered_rate"]),
        "reports": len(result["sent"]),
        "missing": missing,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(1000 * lat[-1], 1) if lat else None,
    }


# --- main --------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--reports", type=int, default=10, help="reports per device")
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "DIGIBANK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--live-rate", type=int, default=1000)
    ap.add_argument("--live-seconds", type=int, default=20)
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = ap.parse_args()
    n = args.devices * args.reports
    work = Path(tempfile.mkdtemp(prefix="digibank-bench-ingest-"))
    os.chmod(work, 0o711)
    log = work / "ingest.log"
    results: dict[str, Any] = {
        "devices": args.devices,
        "messages": n,
        "batch_size": args.batch_size,
        # The machine is shared: compare figures only within one run.
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with started_broker(work / "broker-data") as broker:
        results.update(run(broker, args, n, work, log))
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def run_bare(broker: MosquittoBroker, group: str, n: int) -> dict[str, Any]:
    """Drain a queued group with the bare paho subscriber in a process of its own."""
    account = broker.server_credentials
    q: Any = multiprocessing.get_context("fork").Queue()
    p = multiprocessing.get_context("fork").Process(
        target=bare_subscriber,
        args=(broker.host, broker.port, account.username, account.password, group, n, q),
    )
    p.start()
    result: dict[str, Any] = q.get(timeout=900)
    p.join()
    result["rate"] = round(result["rate"])
    return result


def run(
    broker: MosquittoBroker, args: argparse.Namespace, n: int, work: Path, log: Path
) -> dict[str, Any]:
    account = broker.server_credentials
    base = {
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "mqtt_username": account.username,
        "mqtt_password": account.password,
        "ingest_batch_size": args.batch_size,
    }
    server_ep = Endpoint(broker.host, broker.port, account.username, account.password)
    sim = simulator_account(broker)
    backends = {"sqlite": fresh_settings(base, "", work / "sqlite")}
    if not args.no_pg:
        backends["postgresql"] = fresh_settings(base, args.pg, work / "pg")
        backends["postgresql_x2"] = fresh_settings(base, args.pg, work / "pg2")
    backends["sqlite_x2"] = fresh_settings(base, "", work / "sqlite2")
    engines = {k: make_engine(s) for k, s in backends.items()}
    ids: list[int] = []
    for engine in engines.values():
        got = make_devices(make_sessionmaker(engine), args.devices, prefix="B")
        ids = ids or got
        assert got == ids, "every database must give the devices the same ids"
    # Register every consumer's session, then stop them all: the broker queues for each.
    register_bare(server_ep, "bare")
    register_bare(server_ep, "bare-after")
    groups = {
        "sqlite": ["i-sqlite"],
        "postgresql": ["i-pg"],
        "postgresql_x2": ["i-pg2a", "i-pg2b"],
        "sqlite_x2": ["i-sq2a", "i-sq2b"],
    }
    for key, clients in groups.items():
        if key in backends:
            procs = [
                spawn_ingest(backends[key], cid, key.replace("_", "-"), log) for cid in clients
            ]
            for cid in clients:
                wait_for_log(log, f"ingest {cid} connected")
            time.sleep(0.5)  # subscribed too
            stop(procs)
    items = reports_for(ids, args.reports)
    t0 = time.monotonic()
    accepted = publish_parallel(sim, items, processes=4)
    out: dict[str, Any] = {
        "publish": {"accepted": accepted, "seconds": round(time.monotonic() - t0, 1)}
    }
    print(f"queued {accepted} messages in {out['publish']['seconds']}s", flush=True)
    out["bare_before"] = run_bare(broker, "bare", n)
    print("bare subscriber (before):", out["bare_before"], flush=True)
    for key, clients in groups.items():
        if key in backends:
            out[key] = drain(backends[key], engines[key], key.replace("_", "-"), clients, n, log)
            print(f"{key}: {out[key]}", flush=True)
    # The bare subscriber again after the drains: the machine's speed drifts, so each ratio
    # is to the mean of the bare rate measured before and after.
    out["bare_after"] = run_bare(broker, "bare-after", n)
    print("bare subscriber (after):", out["bare_after"], flush=True)
    bare = (out["bare_before"]["rate"] + out["bare_after"]["rate"]) / 2
    out["bare"] = {"rate": round(bare)}
    for key in groups:
        if key in out:
            out[key]["ratio_to_bare"] = round(out[key]["rate"] / bare, 2)
            print(f"{key}: {out[key]['rate']}/s = {out[key]['ratio_to_bare']} x bare", flush=True)
    for key in ("sqlite", "postgresql"):
        if key in backends and args.live_seconds:
            out[f"live_{key}"] = live_run(
                backends[key], engines[key], sim, ids, args.live_rate, args.live_seconds, log
            )
            print(f"live {key}: {out[f'live_{key}']}", flush=True)
    single = out["sqlite"]
    out["targets"] = {
        "sqlite_rate_ok": single["rate"] >= TARGET_RATE,
        "sqlite_ratio_ok": single["ratio_to_bare"] >= TARGET_RATIO,
    }
    if "postgresql" in out:
        out["targets"]["postgresql_rate_ok"] = out["postgresql"]["rate"] >= TARGET_RATE
        out["targets"]["postgresql_ratio_ok"] = out["postgresql"]["ratio_to_bare"] >= TARGET_RATIO
    for engine in engines.values():
        engine.dispose()
    for settings in backends.values():
        drop_pg(settings)
    return out


if __name__ == "__main__":
    sys.exit(main())
