"""Telemetry fixtures: a migrated database (SQLite; PostgreSQL too when configured), the
simulator account on the shared real broker, and in-process ingest with its own session."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from server.broker import MosquittoBroker
from server.core.config import Settings, load_settings
from server.core.db import make_engine, make_sessionmaker
from server.core.migrate import upgrade
from server.ingest import IngestService
from tests.postgres import BACKENDS, PG_URL, throwaway_database
from tests.telemetry.fleet import Endpoint, forget_session, simulator_account

TABLES = "health_reports, health_daily, flags, ingest_counters, device_events, loans, devices"


@pytest.fixture(scope="session")
def telemetry_pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for the telemetry tests, migrated once."""
    if not PG_URL:
        pytest.skip("DIGIBANK_TEST_POSTGRES_URL not set")
    with throwaway_database("digibank_telemetry") as url:
        engine = make_engine(load_settings(database_url=url))
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def tsettings(
    request: pytest.FixtureRequest, tmp_path: Path, mosquitto: MosquittoBroker
) -> Settings:
    """Settings for an empty migrated database, pointed at the shared broker as the server."""
    account = mosquitto.server_credentials
    common = {
        "data_dir": tmp_path / "data",
        "mqtt_host": mosquitto.host,
        "mqtt_port": mosquitto.port,
        "mqtt_username": account.username,
        "mqtt_password": account.password,
        # A group and client id of its own: no other test's session takes a share.
        "ingest_group": f"t{uuid.uuid4().hex[:10]}",
        "ingest_client_id": f"ingest-{uuid.uuid4().hex[:10]}",
        "ingest_batch_ms": 20,
    }
    if request.param == "sqlite":
        settings = load_settings(database_url="", **common)
        engine = make_engine(settings)
        upgrade(engine)
        engine.dispose()
        return settings
    url = request.getfixturevalue("telemetry_pg_url")
    settings = load_settings(database_url=url, **common)
    engine = make_engine(settings)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return settings


@pytest.fixture
def engine(tsettings: Settings) -> Iterator[Engine]:
    """The test database's engine."""
    eng = make_engine(tsettings)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the test database."""
    return make_sessionmaker(engine)


@pytest.fixture(scope="session")
def sim(mosquitto: MosquittoBroker) -> Endpoint:
    """An account that may publish any device's health on the shared broker."""
    return simulator_account(mosquitto)


@pytest.fixture
def start_ingest(
    tsettings: Settings, factory: sessionmaker[Session], mosquitto: MosquittoBroker
) -> Iterator[Callable[..., IngestService]]:
    """Start in-process ingest services; stopped and their broker sessions ended afterwards."""
    started: list[IngestService] = []

    def start(client_id: str | None = None, **overrides: object) -> IngestService:
        settings = tsettings.model_copy(update=overrides) if overrides else tsettings
        service = IngestService(settings, factory, client_id=client_id)
        service.start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
    for cid in {s.client_id for s in started}:
        forget_session(mosquitto.host, mosquitto.port, mosquitto.server_credentials, cid)
