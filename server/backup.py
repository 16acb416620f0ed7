"""Backups: SQLite's online backup while the hub runs; PostgreSQL is pg_dump's job."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from server.core.config import Settings
from server.errors import InvalidInput


def _sqlite_path(settings: Settings) -> Path:
    url = settings.sqlalchemy_url
    if not url.startswith("sqlite:///"):
        raise InvalidInput(
            "backup/restore here is for the embedded SQLite database; for PostgreSQL use "
            "pg_dump / pg_restore (e.g. pg_dump -Fc DBNAME > hub.dump)"
        )
    return Path(url[len("sqlite:///") :])


def backup_sqlite(settings: Settings, target: Path) -> None:
    """Write a consistent copy of the live database to `target` (SQLite online backup API)."""
    source = _sqlite_path(settings)
    if not source.exists():
        raise InvalidInput(f"no database at {source}")
    if target.exists():
        raise InvalidInput(f"{target} exists; choose a new file")
    tmp = target.with_name(target.name + ".part")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(tmp)
    try:
        with dst:
            src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    tmp.rename(target)


def restore_sqlite(settings: Settings, backup: Path) -> None:
    """Replace the database with a backup (the hub must be stopped)."""
    target = _sqlite_path(settings)
    try:
        con = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        ok = con.execute("PRAGMA integrity_check").fetchone()
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        con.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{backup} is not a SQLite database: {exc}") from None
    if not ok or ok[0] != "ok" or "devices" not in tables:
        raise InvalidInput(f"{backup} is not an intact digibank backup")
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(backup, target)
