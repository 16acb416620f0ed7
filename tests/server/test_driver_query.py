"""DriverQuery gives what SQLAlchemy's execution gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    event,
    select,
    text,
)
from sqlalchemy.orm import Session

from server.core.config import load_settings
from server.core.db import make_engine, make_sessionmaker
from server.core.driver_query import DriverQuery
from server.core.sqltypes import UTCDateTime
from tests.postgres import BACKENDS, backend_url

_meta = MetaData()
things = Table(
    "things",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(40)),
    Column("at", UTCDateTime()),
    Column("day", Date()),
    Column("ok", Boolean()),
    Column("ratio", Float()),
    Column("price", Numeric(10, 2)),
    Column("facts", JSON()),
)
ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "name": "één",
        "at": datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC),
        "day": date(2026, 11, 28),
        "ok": True,
        "ratio": 0.1,
        "price": 12.5,
        "facts": {"health_pct": 55.0, "disks": [{"free_pct": 4.1}]},
    },
    {
        "id": 2,
        "name": None,
        "at": None,
        "day": None,
        "ok": False,
        "ratio": None,
        "price": None,
        "facts": None,
    },
    {
        "id": 3,
        "name": "50% 'quoted'",
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "day": date(2026, 1, 1),
        "ok": None,
        "ratio": 2.0,
        "price": 0,
        "facts": [],
    },
]


@pytest.fixture(params=BACKENDS)
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """A session on an empty database holding the three rows above."""
    with contextlib.ExitStack() as stack:
        url = backend_url(request.param, stack, "digibank_dq")
        engine = make_engine(load_settings(data_dir=tmp_path, database_url=url))
        stack.callback(engine.dispose)
        _meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(things.insert(), ROWS)
        with make_sessionmaker(engine)() as s:
            yield s


def _by_sqlalchemy(session: Session, stmt: Any, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.connection().execute(stmt, params)]


def test_rows_and_their_types_are_what_sqlalchemy_gives(session: Session) -> None:
    stmt = select(things).where(things.c.id >= bindparam("low", type_=Integer())).order_by("id")
    query = DriverQuery(stmt)
    got = query.rows(session.connection(), {"low": 1})
    assert got == _by_sqlalchemy(session, stmt, {"low": 1})
    first = got[0]
    assert first[2] == ROWS[0]["at"] and first[2].tzinfo is not None  # an aware UTC datetime
    assert type(first[3]) is date and first[4] is True and got[1][4] is False
    assert first[7] == {"health_pct": 55.0, "disks": [{"free_pct": 4.1}]}  # JSON, decoded
    assert [r[1] for r in got] == ["één", None, "50% 'quoted'"]
    assert query.first(session.connection(), {"low": 3}) == got[2]
    assert query.first(session.connection(), {"low": 4}) is None


def test_bound_literals_and_text_statements(session: Session) -> None:
    limited = select(things.c.id).order_by(things.c.id.desc()).limit(2)  # LIMIT is a bound value
    assert DriverQuery(limited).rows(session.connection(), {}) == [(3,), (2,)]
    raw = DriverQuery(text("SELECT count(*) FROM things WHERE name LIKE :pattern"))
    assert raw.rows(session.connection(), {"pattern": "50%"}) == [(1,)]


def test_runs_in_the_sessions_transaction(session: Session) -> None:
    session.execute(things.insert().values(id=4, name="not committed"))
    query = DriverQuery(
        select(things.c.name).where(things.c.id == bindparam("id", type_=Integer()))
    )
    assert query.rows(session.connection(), {"id": 4}) == [("not committed",)]
    session.rollback()
    assert query.rows(session.connection(), {"id": 4}) == []


def test_the_engines_cursor_events_see_the_statement(session: Session) -> None:
    seen: list[tuple[str, Any]] = []
    engine = session.get_bind()

    def before(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", before)
    try:
        query = DriverQuery(select(things.c.id).where(things.c.name == bindparam("name")))
        assert query.rows(session.connection(), {"name": "één"}) == [(1,)]
    finally:
        event.remove(engine, "before_cursor_execute", before)
    statement, params = seen[-1]
    assert "FROM things" in statement
    assert "één" in (params.values() if isinstance(params, dict) else params)


def test_refuses_what_needs_sqlalchemys_own_execution(session: Session) -> None:
    with pytest.raises(TypeError, match="expanding"):
        DriverQuery(select(things.c.id).where(things.c.id.in_([1, 2]))).rows(
            session.connection(), {}
        )
    since = bindparam("since", type_=UTCDateTime())
    with pytest.raises(TypeError, match="conversion on the way in"):
        DriverQuery(select(things.c.id).where(things.c.at > since)).rows(
            session.connection(), {"since": datetime.now(UTC)}
        )
    with pytest.raises(TypeError, match=r"missing parameters: \['id'\]"):
        DriverQuery(select(things.c.id).where(things.c.id == bindparam("id"))).rows(
            session.connection(), {}
        )
