"""`digibank-server up`: the whole hub in the foreground (broker, database, API, ingest)."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys

import uvicorn
from sqlalchemy import func, select

from server.broker import MosquittoBroker, PortInUse, free_port, port_accepts
from server.core.config import Settings
from server.core.db import make_engine, make_sessionmaker, session_scope
from server.core.migrate import upgrade
from server.models import User
from server.region import seed_region
from server.security import hash_password, new_secret

log = logging.getLogger(__name__)


def say(message: str) -> None:
    """Progress for the person who started the hub."""
    print(f"[hub] {message}", file=sys.stderr, flush=True)


def prepare_database(settings: Settings) -> str | None:
    """Migrate, seed the region, and create the first manager; returns its password once."""
    engine = make_engine(settings)
    try:
        say(f"database: {engine.url.render_as_string(hide_password=True)}")
        upgrade(engine)
        factory = make_sessionmaker(engine)
        with session_scope(factory) as session:
            result = seed_region(session)
            if result.added:
                say(f"region seeded: {result.added} rows added")
            if session.scalar(select(func.count()).select_from(User).where(User.role == "manager")):
                return None
            password = new_secret(12)
            session.add(
                User(username="admin", password_hash=hash_password(password), role="manager")
            )
            return password
    finally:
        engine.dispose()


def start_broker(settings: Settings) -> MosquittoBroker:
    """Start Mosquitto from broker_config/, on the asked port or, if taken, a free one."""
    port = settings.mqtt_port
    for _attempt in range(3):
        if port_accepts("127.0.0.1", port):
            new = free_port()
            say(f"MQTT port {port} is taken (another broker?); using free port {new} instead")
            port = new
        broker = MosquittoBroker(
            settings.data_dir,
            port,
            host=settings.mqtt_host,
            device_port=settings.mqtt_device_port or None,
            tls=settings.mqtt_device_tls,
            tls_names=(settings.mqtt_device_host,) if settings.mqtt_device_host else (),
        )
        try:
            broker.start()
            say(f"mosquitto from broker_config/ listening on {settings.mqtt_host}:{port}")
            return broker
        except PortInUse:
            continue
    raise SystemExit("could not find a free port for Mosquitto")


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def run_hub(settings: Settings) -> int:
    """Run until Ctrl-C (or SIGTERM), then stop everything that was started."""
    # uvicorn re-raises the signal it handled once it has shut down; with the default
    # SIGTERM action that would kill this process before the broker is stopped.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    say(f"data folder: {settings.data_dir.resolve()}")
    password = prepare_database(settings)
    broker = start_broker(settings)
    try:
        creds = broker.server_credentials
        settings = settings.model_copy(
            update={
                "mqtt_port": broker.port,
                "mqtt_username": settings.mqtt_username or creds.username,
                "mqtt_password": settings.mqtt_password or creds.password,
            }
        )
        from server.app import create_app

        app = create_app(settings)
        url = f"http://{settings.host}:{settings.port}"
        say(f"hub server on {url}  (API docs {url}/docs, health {url}/healthz)")
        if password:
            say("first manager account created; this password is shown only once:")
            print(f"\n    username: admin\n    password: {password}\n", flush=True)
        say("press Ctrl-C to stop   (for a living demo fleet instead: ./hub --demo)")
        server = uvicorn.Server(
            uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
        )
        # uvicorn re-raises the Ctrl-C it already handled: that is a clean stop.
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        return 0 if server.started else 1
    finally:
        say("stopping mosquitto")
        broker.stop()
        say("stopped")
