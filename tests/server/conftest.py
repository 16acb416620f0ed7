"""Server test fixtures: the app on a migrated database, SQLite always, PostgreSQL when set.

Set DIGIBANK_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run every
test that uses `db_settings` on PostgreSQL too; a throw-away database is made beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from server.app import create_app
from server.core.config import Settings, load_settings
from server.core.db import make_engine, make_sessionmaker
from server.core.migrate import upgrade
from server.models import Base, User
from server.region import seed_region
from server.security import hash_password, issue_token
from tests.postgres import BACKENDS, PG_URL, throwaway_database

PASSWORD = "correct horse battery"
PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per session


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    if not PG_URL:
        pytest.skip("DIGIBANK_TEST_POSTGRES_URL not set")
    with throwaway_database("digibank_test") as url:
        engine = make_engine(load_settings(database_url=url))
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a migrated, empty database of each backend."""
    if request.param == "sqlite":
        settings = load_settings(data_dir=tmp_path / "data", database_url="")
        engine = make_engine(settings)
        upgrade(engine)
        engine.dispose()
        return settings
    url = request.getfixturevalue("pg_url")
    settings = load_settings(data_dir=tmp_path / "data", database_url=url)
    engine = make_engine(settings)
    # DELETE is much quicker than TRUNCATE on a score of nearly empty tables.
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
    return settings


@pytest.fixture
def app_client(db_settings: Settings) -> Iterator[TestClient]:
    """The API on a seeded region, with a manager `boss`, a technician `tech`."""
    app = create_app(db_settings, start_services=False)
    factory = app.state.sessionmaker
    with factory() as session:
        seed_region(session)
        session.add(User(username="boss", password_hash=PASSWORD_HASH, role="manager"))
        session.add(User(username="tech", password_hash=PASSWORD_HASH, role="technician"))
        session.commit()
    with TestClient(app) as client:
        yield client


@pytest.fixture
def session(app_client: TestClient) -> Iterator[Session]:
    """A session on the app's database."""
    factory = make_sessionmaker(app_client.app.state.engine)  # type: ignore[attr-defined]
    with factory() as s:
        yield s


def _login(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def manager(app_client: TestClient) -> dict[str, str]:
    """Auth headers of the manager."""
    return _login(app_client, "boss")


@pytest.fixture
def technician(app_client: TestClient) -> dict[str, str]:
    """Auth headers of the technician."""
    return _login(app_client, "tech")


@pytest.fixture
def station(app_client: TestClient) -> dict[str, str]:
    """Auth headers of a station token."""
    with app_client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        token = issue_token(s, name="station-1", role="station", user_id=None, ttl=None)
        s.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(app_client: TestClient, manager: dict[str, str]) -> Callable[..., dict]:
    """Call the API as the manager and check the status: api("POST", path, json=..., expect=201)."""

    def call(method: str, path: str, expect: int = 200, **kwargs: object) -> dict:
        r = app_client.request(method, "/api/v1" + path, headers=manager, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return (
            r.json()
            if r.content and r.headers.get("content-type", "").startswith("application/json")
            else {}
        )

    return call
