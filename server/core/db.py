"""Database engine and sessions; SQLite gets WAL, foreign keys and a busy timeout."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from server.core.config import Settings


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    """An engine for the configured database, with SQLite tuned for a busy hub."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Take BEGIN away from pysqlite so that a session that will write can start with
        # BEGIN IMMEDIATE (see `writing`): a deferred transaction that reads and then
        # writes fails with SQLITE_BUSY when another writer got in between.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    # On the driver's connection: SQLAlchemy's execution of a statement (context, cursor
    # events, result) costs several times the BEGIN itself, and every transaction has one.
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writing(session: Session) -> Session:
    """Mark the session's next transaction as a writer (SQLite: BEGIN IMMEDIATE; else no-op)."""
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_immediate": True})
    return session


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session], write: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with factory() as session:
        if write:
            writing(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
