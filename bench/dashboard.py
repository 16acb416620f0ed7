"""Dashboard benchmark: server time of the overview, flags and device pages at fleet scale.

    .venv/bin/python bench/dashboard.py                      # SQLite and PostgreSQL, full scale
    .venv/bin/python bench/dashboard.py --backend sqlite --devices 5000 --reports 500000

Builds a database with N devices and M health reports (bulk insert), serves the real app
in-process, signs in, and times each page: the server time from its Server-Timing header
(everything inside the app: cookie session, sign-in check, queries, rendering) and, beside
it, the client time through the in-process test client (which adds httpx and a thread hop).
In the same run it captures the SQL each page executed and replays exactly those statements
on a bare DBAPI connection (sqlite3 / psycopg), fetching every row: the bare SQL of the page,
so the page's overhead over its queries is visible. Those are the statements a hand-written
page would need too (the sign-in lookup included); a page that ran more (lazy loads) than it
needs pays for them on both sides.

Each timed request repeats a first visit of the same page (whose statements it captures, and
whose server time is reported as the first visit): the page and its replay then both find
their rows in the database's cache (SQLite's page cache, PostgreSQL's shared buffers) and run
in alternating order, so neither gets a warmer cache than the other. (Until 2026-11-27 the
page was timed cold and its replay warm right after it, and the ratio was taken on the time
through the test client, which has its own overhead of a few ms.)
Targets (issue 5): overview and flags p95 < 150 ms, device page p95 < 100 ms, <= 3x bare SQL.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fleetgen import generate
from server.app import create_app
from server.core.config import Settings, load_settings
from server.core.db import make_engine
from server.core.migrate import upgrade
from server.models import User
from server.reach import reach
from server.security import hash_password

log = logging.getLogger("bench.dashboard")
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, in the same unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def make_db(backend: str, pg_url: str, workdir: Path) -> tuple[Settings, Callable[[], None]]:
    """Settings for a fresh migrated database and a function that removes it."""
    if backend == "sqlite":
        settings = load_settings(data_dir=workdir, database_url="", secret_key="b" * 48)
        return settings, lambda: None
    name = f"digibank_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    settings = load_settings(data_dir=workdir, database_url=url, secret_key="b" * 48)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return settings, drop


class SqlCapture:
    """Records the statements an engine runs while `on` is set."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.on and not statement.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT")):
            self.statements.append((statement, params))


def replay(engine: Engine, statements: list[tuple[str, Any]]) -> float:
    """Seconds to run these statements on one bare DBAPI connection, fetching every row."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        for sql, params in statements:
            cur.execute(sql, params)
            cur.fetchall()
        elapsed = time.perf_counter() - t0
        raw.rollback()
        return elapsed
    finally:
        raw.close()


def login(client: TestClient) -> None:
    """Sign the client in through the login form."""
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on /login"
    resp = client.post(
        "/login",
        data={"username": "bench", "password": "bench-pw", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text[:300]


def measure(settings: Settings, devices: int, runs: int) -> list[dict[str, Any]]:
    """Per page: p50/p95 of the request and of its replayed SQL, in milliseconds."""
    app = create_app(settings, start_services=False)
    engine: Engine = app.state.engine
    capture = SqlCapture(engine)
    rng = random.Random(5)
    pages: list[tuple[str, Callable[[], str]]] = [
        # The floor: the same stack (ASGI, session cookie, one SELECT 1) without a page.
        ("floor /healthz", lambda: "/healthz"),
        ("overview /", lambda: "/"),
        ("flags /flags", lambda: "/flags"),
        ("device /devices/{id}", lambda: f"/devices/{rng.randint(1, devices)}"),
    ]
    results = []
    with TestClient(app) as client:
        login(client)
        for name, path in pages:
            for _ in range(3):  # warm caches, as a hub that has been running would be
                assert client.get(path()).status_code == 200
            first_ms, page_ms, server_ms, sql_ms = [], [], [], []
            for run in range(runs):
                target = path()
                # First visit: its server time, and the statements the page runs.
                capture.statements.clear()
                capture.on = True
                resp = client.get(target)
                capture.on = False
                assert resp.status_code == 200, (target, resp.status_code)
                first_ms.append(_server_ms(resp))
                statements = list(capture.statements)
                # Then the page again and its bare SQL, both on a warm cache, in turns.
                if run % 2:
                    sql_ms.append(1000 * replay(engine, statements))
                t0 = time.perf_counter()
                resp = client.get(target)
                page_ms.append(1000 * (time.perf_counter() - t0))
                server_ms.append(_server_ms(resp))
                if not run % 2:
                    sql_ms.append(1000 * replay(engine, statements))
            results.append(
                {
                    "page": name,
                    "first_p50": pct(first_ms, 0.5),
                    "first_p95": pct(first_ms, 0.95),
                    "client_p50": pct(page_ms, 0.5),
                    "client_p95": pct(page_ms, 0.95),
                    "p50": pct(server_ms, 0.5),
                    "p95": pct(server_ms, 0.95),
                    "sql_p50": pct(sql_ms, 0.5),
                    "sql_p95": pct(sql_ms, 0.95),
                    "statements": len(statements),
                    "slowest": _slowest(engine, statements),
                }
            )
    results.append(_reach_row(app))
    return results


def _server_ms(resp: Any) -> float:
    """The server's own time for a response (its Server-Timing header), in ms."""
    return float(resp.headers["server-timing"].split("dur=")[1])


def _reach_row(app: Any) -> dict[str, Any]:
    """The reach count the overview takes from its background cache, timed on its own."""
    times = []
    with app.state.sessionmaker() as session:
        for _ in range(5):
            t0 = time.perf_counter()
            reach(session, 1000)
            times.append(1000 * (time.perf_counter() - t0))
            session.rollback()
    return {
        "page": "reach (bg, <=1/min)",
        "first_p50": float("nan"),
        "first_p95": float("nan"),
        "client_p50": float("nan"),
        "client_p95": float("nan"),
        "p50": pct(times, 0.5),
        "p95": pct(times, 0.95),
        "sql_p50": float("nan"),
        "sql_p95": float("nan"),
        "statements": 2,
        "slowest": [],
    }


def _slowest(engine: Engine, statements: list[tuple[str, Any]]) -> list[tuple[float, str]]:
    """The page's three slowest statements (ms, start of the SQL), each replayed alone."""
    timed = [
        (1000 * replay(engine, [(sql, p)]), " ".join(sql.split())[:90]) for sql, p in statements
    ]
    return sorted(timed, reverse=True)[:3]


def run_backend(backend: str, args: argparse.Namespace) -> None:
    """Build, fill, measure and print one backend's figures."""
    with tempfile.TemporaryDirectory(prefix="dgb-bench-") as tmp:
        reuse = args.reuse_sqlite if backend == "sqlite" else None
        settings, drop = make_db(backend, args.pg_url, reuse or Path(tmp))
        try:
            engine = make_engine(settings)
            if reuse and (reuse / "digibank.db").exists():
                upgrade(engine)  # indexes added since the database was built
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
                engine.dispose()
                print(f"\n== {backend}: reusing the database in {reuse}")
                _print(measure(settings, args.devices, args.runs), args)
                return
            upgrade(engine)
            with engine.begin() as conn:
                conn.execute(
                    User.__table__.insert().values(
                        username="bench",
                        password_hash=hash_password("bench-pw"),
                        role="manager",
                        active=True,
                    )
                )
            t0 = time.perf_counter()
            timings = generate(engine, args.devices, args.reports)
            load_s = time.perf_counter() - t0
            engine.dispose()
            print(f"\n== {backend}: {args.devices:,} devices, {args.reports:,} health reports")
            print(
                f"   load {load_s:.1f} s ("
                + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
                + ")"
            )
            _print(measure(settings, args.devices, args.runs), args)
        finally:
            drop()


def _print(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """The table of one backend's figures."""
    print(
        "   server = Server-Timing of the page (warm); SQL = its statements replayed bare (warm);\n"
        "   1st = the page's first visit (server time); client = through the test client (warm)"
    )
    head = ("srv p50", "srv p95", "SQL p50", "SQL p95", "x p50", "x p95", "1st p95", "cli p95")
    print(f"   {'page':<24}" + "".join(f"{h:>9}" for h in head) + "  stmts")
    for r in results:
        figures = (
            r["p50"],
            r["p95"],
            r["sql_p50"],
            r["sql_p95"],
            r["p50"] / r["sql_p50"] if r["sql_p50"] else float("nan"),
            r["p95"] / r["sql_p95"] if r["sql_p95"] else float("nan"),
            r["first_p95"],
            r["client_p95"],
        )
        print(
            f"   {r['page']:<24}" + "".join(f"{x:>9.1f}" for x in figures) + f"  {r['statements']}"
        )
        if args.slowest:
            for ms, sql in r["slowest"]:
                print(f"        {ms:7.1f} ms  {sql}")


def main() -> None:
    """Parse the options and run the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--reports", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=40, help="timed requests per page")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--slowest", action="store_true", help="show each page's slowest SQL")
    parser.add_argument(
        "--reuse-sqlite", type=Path, default=None, help="keep/reuse the SQLite database here"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(
        f"dashboard benchmark: scale {args.devices:,} devices / {args.reports:,} reports, "
        f"{args.runs} timed requests per page (in-process ASGI, no network)"
    )
    for backend in backends:
        run_backend(backend, args)


if __name__ == "__main__":
    main()
