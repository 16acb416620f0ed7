"""Benchmark the API's device list and reach report against the bare SQL of the same rows.

Seeds 50,000 devices with history (events, wipe results, loans, borrowers) into a fresh
database, then times each request through the whole FastAPI stack (in-process ASGI client)
beside the bare SELECT the request boils down to, run in the same process right after.

    python bench/api.py                     # SQLite in a temporary folder
    python bench/api.py --postgres URL      # also PostgreSQL (a throw-away database is made)
    python bench/api.py --devices 5000      # smaller, for a quick look

Prints p50/p95 in ms, both as the client sees it and as the server spent it (its
Server-Timing header), and the ratio server/bare; targets: within 5x and p95 < 100 ms on SQLite.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, select, text

from server.app import create_app
from server.core.config import Settings, load_settings
from server.core.migrate import upgrade
from server.models import (
    Borrower,
    Device,
    DeviceEvent,
    JobResult,
    Loan,
    Location,
    User,
)
from server.reach import rebuild_facts
from server.region import seed_region
from server.security import issue_token

STATES = ["intake", "refurbishing", "repair", "ready", "on_loan", "returned", "retired"]
WEIGHTS = [5, 10, 5, 20, 45, 10, 5]
MODELS = ["ThinkPad T480", "ThinkPad T470", "Latitude 5490", "EliteBook 840 G5", "Galaxy Tab A8"]


def progress(msg: str) -> None:
    """Show what the benchmark is doing (seeding takes a while)."""
    print(f"  .. {msg}", file=sys.stderr, flush=True)


def seed(settings: Settings, n_devices: int) -> str:
    """Fill the database; return a manager token."""
    app = create_app(settings, start_services=False)
    engine = app.state.engine
    upgrade(engine)
    rng = random.Random(42)
    now = datetime.now(UTC)
    with app.state.sessionmaker() as s:
        seed_region(s)
        s.add(User(username="bench", password_hash="x", role="manager"))
        s.flush()
        token = issue_token(s, name="bench", role="manager", user_id=1, ttl=None)
        s.commit()
        locations = s.execute(select(Location.id, Location.kind, Location.municipality_id)).all()
        banks = {m: b for m, b in s.execute(text("SELECT id, digibank_id FROM municipalities"))}
    hub = next(loc.id for loc in locations if loc.kind == "hub")
    points = [(loc.id, banks[loc.municipality_id]) for loc in locations if loc.kind == "digipunt"]
    progress(f"seeding {n_devices:,} devices with history")
    t0 = time.perf_counter()
    devices, events, jobs, borrowers, loans = [], [], [], [], []
    for i in range(1, n_devices + 1):
        state = rng.choices(STATES, WEIGHTS)[0]
        point = rng.choice(points)
        loc = point[0] if state in ("on_loan", "returned", "ready") and rng.random() < 0.8 else hub
        created = now - timedelta(days=rng.randint(1, 700))
        devices.append({
            "id": i, "asset_tag": f"DB-{i:08d}", "kind": "tablet" if i % 7 == 0 else "laptop",
            "make": "Lenovo", "model": rng.choice(MODELS), "serial": f"SN{uuid.UUID(int=i).hex[:12]}",
            "cpu": "i5", "ram_gb": 8.0, "storage_gb": 256.0, "state": state, "location_id": loc,
            "created_at": created, "updated_at": created, "intake_at": created,
            "report_interval_s": 900,
        })  # fmt: skip
        for k, (a, b) in enumerate([("intake", "refurbishing"), ("refurbishing", "ready")]):
            events.append({"device_id": i, "at": created + timedelta(days=k), "actor": "bench",
                           "kind": "transition", "from_state": a, "to_state": b, "reason": "seed"})  # fmt: skip
        jobs.append({"device_id": i, "kind": "wipe", "status": "passed", "started_at": created,
                     "ended_at": created, "method": "overwrite", "details": {},
                     "certificate": {"s": "clear"}, "recorded_by": "bench", "recorded_at": created})  # fmt: skip
        if state in ("on_loan", "returned"):
            bid = len(borrowers) + 1
            borrowers.append({"id": bid, "ref": f"B{bid:07d}", "adult": rng.random() < 0.85,
                              "digibank_id": point[1], "created_at": created})  # fmt: skip
            loans.append({
                "device_id": i, "borrower_id": bid, "location_id": point[0], "started_at": created,
                "due_date": (created + timedelta(days=rng.randint(30, 400))).date(),
                "extended_count": 0, "returned_at": None if state == "on_loan" else now,
            })  # fmt: skip
    with engine.begin() as conn:
        for table, rows in ((Device, devices), (DeviceEvent, events), (JobResult, jobs),
                            (Borrower, borrowers), (Loan, loans)):  # fmt: skip
            for start in range(0, len(rows), 10_000):
                conn.execute(insert(table), rows[start : start + 10_000])
        rebuild_facts(conn)  # loans were written in bulk, not lent
        if engine.dialect.name == "postgresql":
            for table in ("devices", "borrowers"):
                conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    progress(
        f"seeded {len(devices):,} devices, {len(events):,} events, {len(loans):,} loans "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    app.state.engine.dispose()
    return token


def timed(fn: Callable[[], Any], rounds: int) -> list[float]:
    """Milliseconds of each of `rounds` calls, after two warm-ups."""
    fn()
    fn()
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    """The p-th percentile."""
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


BARE_LIST = """
SELECT d.*, l.name, m.name, b.name FROM devices d
JOIN locations l ON l.id = d.location_id
LEFT JOIN municipalities m ON m.id = l.municipality_id
LEFT JOIN digibanks b ON b.id = m.digibank_id
WHERE {where} ORDER BY d.id DESC LIMIT 50 OFFSET 100
"""
BARE_COUNT = "SELECT count(*) FROM devices d WHERE {where}"
NOORD = (
    "d.location_id IN (SELECT l2.id FROM locations l2 JOIN municipalities m2 ON "
    "m2.id = l2.municipality_id JOIN digibanks b2 ON b2.id = m2.digibank_id "
    "WHERE lower(b2.name) = 'noord')"
)
BARE_REACH_FACTS = [
    "SELECT municipality_id, count(*) FROM reach_facts WHERE adult GROUP BY municipality_id",
    "SELECT digibank_id, count(DISTINCT borrower_id) FROM reach_facts WHERE adult "
    "GROUP BY digibank_id",
]
BARE_REACH = """
WITH reached AS (
  SELECT DISTINCT m.digibank_id, l.municipality_id, lo.borrower_id FROM loans lo
  JOIN borrowers br ON br.id = lo.borrower_id
  JOIN locations l ON l.id = lo.location_id
  JOIN municipalities m ON m.id = l.municipality_id
  WHERE br.adult)
SELECT digibank_id, municipality_id, count(*) FROM reached GROUP BY digibank_id, municipality_id
UNION ALL
SELECT digibank_id, NULL, count(DISTINCT borrower_id) FROM reached GROUP BY digibank_id
"""

CASES = [
    ("list state=on_loan&digibank=Noord", "/api/v1/devices?state=on_loan&digibank=Noord&limit=50&offset=100",
     [BARE_COUNT.format(where=f"d.state = 'on_loan' AND {NOORD}"),
      BARE_LIST.format(where=f"d.state = 'on_loan' AND {NOORD}")]),
    ("list q=t480", "/api/v1/devices?q=t480&limit=50&offset=100",
     [BARE_COUNT.format(where="lower(d.model) LIKE '%t480%' OR lower(d.serial) LIKE '%t480%' OR lower(d.asset_tag) LIKE '%t480%'"),
      BARE_LIST.format(where="lower(d.model) LIKE '%t480%' OR lower(d.serial) LIKE '%t480%' OR lower(d.asset_tag) LIKE '%t480%'")]),
    ("list kind=tablet", "/api/v1/devices?kind=tablet&limit=50&offset=100",
     [BARE_COUNT.format(where="d.kind = 'tablet'"), BARE_LIST.format(where="d.kind = 'tablet'")]),
    ("reach", "/api/v1/reports/reach", BARE_REACH_FACTS),
    ("reach for a period (from loans)", "/api/v1/reports/reach?since=2000-01-01",
     [BARE_REACH.replace("WHERE br.adult)", "WHERE br.adult AND lo.started_at >= '1999-12-31 23:00:00')")]),
]  # fmt: skip


def run(
    settings: Settings, label: str, n: int, rounds: int
) -> list[tuple[str, float, float, float]]:
    """Seed, then time each case; returns rows of (case, server p95, bare p95, ratio)."""
    token = seed(settings, n)
    app = create_app(settings, start_services=False)
    raw = create_engine(settings.sqlalchemy_url)
    results = []
    print(f"\n{label}: {n:,} devices, {rounds} rounds each")
    print("cli = the whole request through the in-process client; srv = its Server-Timing")
    print(
        f"{'case':34} {'cli p50':>8} {'cli p95':>8} {'srv p50':>8} {'srv p95':>8} "
        f"{'bare p50':>9} {'bare p95':>9} {'srv/bare':>9}"
    )
    with TestClient(app) as client, raw.connect() as conn:
        client.headers["Authorization"] = f"Bearer {token}"
        for name, url, sqls in [("(floor: GET /healthz)", "/healthz", ["SELECT 1"]), *CASES]:
            server_ms: list[float] = []

            def api_call(url: str = url, into: list[float] = server_ms) -> None:
                r = client.get(url)
                assert r.status_code == 200, r.text
                into.append(float(r.headers["server-timing"].split("dur=")[1]))

            def bare_call(sqls: list[str] = sqls) -> None:
                for sql in sqls:
                    conn.execute(text(sql)).all()

            api_ms = timed(api_call, rounds)
            srv_ms = server_ms[2:]  # without the two warm-ups
            bare_ms = timed(bare_call, rounds)
            a50, a95, s50, s95 = pct(api_ms, 50), pct(api_ms, 95), pct(srv_ms, 50), pct(srv_ms, 95)
            b50, b95 = pct(bare_ms, 50), pct(bare_ms, 95)
            ratio = s95 / b95 if b95 else float("inf")
            print(
                f"{name:34} {a50:8.2f} {a95:8.2f} {s50:8.2f} {s95:8.2f} "
                f"{b50:9.2f} {b95:9.2f} {ratio:8.1f}x"
            )
            if not name.startswith("(floor"):
                results.append((name, s95, b95, ratio))
    raw.dispose()
    app.state.engine.dispose()
    return results


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--devices", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--postgres", default="", help="a PostgreSQL URL to also benchmark against")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="digibank-bench-api-") as tmp:
        sqlite = run(
            load_settings(data_dir=Path(tmp), database_url=""), "SQLite", args.devices, args.rounds
        )
    ok = all(a95 < 100 and ratio <= 5 for _, a95, _, ratio in sqlite)
    if args.postgres:
        name = f"digibank_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1),
                              isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.postgres.rsplit("/", 1)[0] + "/" + name
            with tempfile.TemporaryDirectory() as tmp:
                run(load_settings(data_dir=Path(tmp), database_url=url), "PostgreSQL", args.devices,
                    args.rounds)  # fmt: skip
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(
        f"\nSQLite targets (p95 < 100 ms and within 5x of bare SQL): {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
