"""`digibank-server`: run the hub and administer it from the command line."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.core.config import Settings, SettingsError, load_settings
from server.core.db import make_engine, make_sessionmaker, session_scope
from server.core.migrate import upgrade
from server.errors import DigibankError

log = logging.getLogger("digibank.server")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `digibank-server` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings()
        handler: Callable[[Settings, argparse.Namespace], int] = args.func
        return handler(settings, args)
    except SettingsError as exc:
        print(f"digibank-server: {exc}", file=sys.stderr)
        return 2
    except DigibankError as exc:
        print(f"digibank-server: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digibank-server",
        description="The digibank hub server. Settings: DIGIBANK_* variables or "
        "DIGIBANK_CONFIG_FILE (TOML); see README.",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run the whole hub: Mosquitto, migrations, API, ingest")
    up.add_argument("--host", default=None, help="API address (default 127.0.0.1)")
    up.add_argument("--port", type=int, default=None, help="API port (default 8000)")
    up.add_argument("--mqtt-port", type=int, default=None, help="broker port (default 1883)")
    up.add_argument("--demo", action="store_true", help="with a simulated fleet (see `demo`)")
    up.set_defaults(func=cmd_up)

    serve = sub.add_parser("serve", help="run the API (and in-process ingest) only")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(
        func=cmd_migrate
    )
    sub.add_parser("seed-region", help="load the region (idempotent)").set_defaults(
        func=cmd_seed_region
    )

    cu = sub.add_parser("create-user", help="create an account; password from stdin if piped")
    cu.add_argument("name")
    cu.add_argument("--role", choices=["manager", "technician"], required=True)
    cu.set_defaults(func=cmd_create_user)

    ct = sub.add_parser("create-token", help="create a station token (printed once)")
    ct.add_argument("--name", default="station", help="a name for the station")
    ct.set_defaults(func=cmd_create_token)

    bk = sub.add_parser("backup", help="consistent copy of the SQLite database, while running")
    bk.add_argument("file", type=Path)
    bk.set_defaults(func=cmd_backup)
    rs = sub.add_parser("restore", help="replace the SQLite database with a backup (hub stopped)")
    rs.add_argument("file", type=Path)
    rs.set_defaults(func=cmd_restore)

    rt = sub.add_parser("retention", help="apply retention now (borrower references)")
    rt.set_defaults(func=cmd_retention)
    _add_optional_commands(sub)
    return p


def _add_optional_commands(sub: Any) -> None:
    """Commands whose modules belong to other parts of the server (ingest, demo)."""
    ing = sub.add_parser("ingest", help="run MQTT ingest as its own process (several may share)")
    ing.add_argument(
        "--client-id",
        default=None,
        help="this process's MQTT client id, unique and kept across restarts "
        "(default: DIGIBANK_INGEST_CLIENT_ID + '-standalone'); give each extra process its own",
    )
    ing.set_defaults(func=cmd_ingest)
    demo = sub.add_parser("demo", help="the hub with a simulated fleet speaking real MQTT")
    demo.add_argument("--host", default=None, help="API address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=None, help="API port (default 8000)")
    demo.add_argument("--mqtt-port", type=int, default=None, help="broker port (default 1883)")
    demo.add_argument("--devices", type=int, default=300, help="fleet size (first run only)")
    demo.add_argument("--processes", type=int, default=3, help="simulator processes")
    demo.add_argument("--interval", type=int, default=5, help="seconds between reports")
    demo.set_defaults(func=cmd_demo)


# --- commands ------------------------------------------------------------------------------


def _session_factory(settings: Settings) -> Any:
    engine = make_engine(settings)
    return engine, make_sessionmaker(engine)


def cmd_migrate(settings: Settings, _: argparse.Namespace) -> int:
    """Apply Alembic migrations."""
    engine, _f = _session_factory(settings)
    upgrade(engine)
    print("database schema is up to date")
    return 0


def cmd_seed_region(settings: Settings, _: argparse.Namespace) -> int:
    """Load the region file into the database."""
    from server.region import REGION_FILE, seed_region

    engine, factory = _session_factory(settings)
    upgrade(engine)
    with session_scope(factory) as session:
        result = seed_region(session)
    print(f"region from {REGION_FILE.name}: {result.added} added, {result.changed} changed")
    return 0


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise DigibankError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> int:
    """Create a manager or technician."""
    from server.models import User
    from server.security import hash_password

    password = _read_password(f"password for {args.name}: ")
    if len(password) < 12:
        raise DigibankError("password: at least 12 characters")
    engine, factory = _session_factory(settings)
    upgrade(engine)
    with session_scope(factory) as session:
        if session.scalar(select(User.id).where(User.username == args.name)):
            raise DigibankError(f"user {args.name!r} exists")
        session.add(User(username=args.name, password_hash=hash_password(password), role=args.role))
    print(f"created {args.role} {args.name}")
    return 0


def cmd_create_token(settings: Settings, args: argparse.Namespace) -> int:
    """Create a station token and print it once."""
    from server.security import issue_token

    engine, factory = _session_factory(settings)
    upgrade(engine)
    with session_scope(factory) as session:
        token = issue_token(session, name=args.name, role="station", user_id=None, ttl=None)
    print(token)
    return 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the SQLite database consistently, using SQLite's online backup."""
    from server.backup import backup_sqlite

    backup_sqlite(settings, args.file)
    print(f"backup written to {args.file}")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    """Bring a backup back (the hub must be stopped)."""
    from server.backup import restore_sqlite

    restore_sqlite(settings, args.file)
    print(f"restored {args.file}")
    return 0


def cmd_retention(settings: Settings, _: argparse.Namespace) -> int:
    """Erase borrower references past retention."""
    from server.retention import erase_expired_borrowers

    _engine, factory = _session_factory(settings)
    with session_scope(factory) as session:
        n = erase_expired_borrowers(session, settings.borrower_retention_days)
    print(f"erased {n} borrower reference(s)")
    return 0


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Run ingest alone (share the load with other ingest processes)."""
    from server.ingest import run_ingest

    # Not the API process's id: two clients with one id take over each other's session.
    run_ingest(settings, client_id=args.client_id or f"{settings.ingest_client_id}-standalone")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    """The hub plus simulated agents over the real broker; Ctrl-C stops everything."""
    from server.demo import run_demo

    updates = {
        k: v
        for k, v in (("host", args.host), ("port", args.port), ("mqtt_port", args.mqtt_port))
        if v is not None
    }
    return run_demo(
        settings.model_copy(update=updates),
        devices=args.devices,
        processes=args.processes,
        interval_s=args.interval,
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Run the API with uvicorn in the foreground."""
    import uvicorn

    from server.app import create_app

    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=updates)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    """Everything a hub needs, in the foreground; Ctrl-C stops it all."""
    from server.hub import run_hub

    updates = {
        k: v
        for k, v in (("host", args.host), ("port", args.port), ("mqtt_port", args.mqtt_port))
        if v is not None
    }
    if getattr(args, "demo", False):
        from server.demo import run_demo

        return run_demo(settings.model_copy(update=updates))
    return run_hub(settings.model_copy(update=updates))


if __name__ == "__main__":
    sys.exit(main())
