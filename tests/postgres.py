"""PostgreSQL for the tests: a throw-away database beside DIGIBANK_TEST_POSTGRES_URL."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

PG_URL = os.environ.get("DIGIBANK_TEST_POSTGRES_URL", "")

BACKENDS = (
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)] if PG_URL else ["sqlite"]
)
"""Fixture parameters: SQLite always, PostgreSQL when DIGIBANK_TEST_POSTGRES_URL is set."""


@contextlib.contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """Create an empty database named `prefix_<random>` on the test server; drop it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def backend_url(backend: str, stack: contextlib.ExitStack, prefix: str) -> str:
    """The database URL for a BACKENDS parameter: "" (SQLite in the data folder) or a
    throw-away PostgreSQL database, dropped when `stack` closes."""
    if backend == "sqlite":
        return ""
    return stack.enter_context(throwaway_database(prefix))
