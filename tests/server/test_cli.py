"""The `digibank-server` command line: settings errors, users, tokens, backup and restore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

EXE = [sys.executable, "-m", "server.cli"]


def run(
    args: list[str], data: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIBANK_")}
    full_env.update({"DIGIBANK_DATA_DIR": str(data), **env})
    return subprocess.run(EXE + args, input=stdin, capture_output=True, text=True, env=full_env,
                          timeout=120)  # fmt: skip


def test_bad_setting_names_it(tmp_path: Path) -> None:
    r = run(["migrate"], tmp_path, DIGIBANK_PORT="eighty")
    assert r.returncode == 2
    assert "DIGIBANK_PORT" in r.stderr
    r = run(["migrate"], tmp_path, DIGIBANK_DATABASE_URL="mysql://x")
    assert r.returncode == 2 and "DIGIBANK_DATABASE_URL" in r.stderr


def test_config_file_is_read(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text("port = 70000\n")
    r = run(["migrate"], tmp_path, DIGIBANK_CONFIG_FILE=str(cfg))
    assert r.returncode == 2 and "DIGIBANK_PORT" in r.stderr


def test_create_user_from_stdin_then_login(tmp_path: Path) -> None:
    r = run(["create-user", "marie", "--role", "manager"], tmp_path, stdin="a good long password\n")
    assert r.returncode == 0, r.stderr
    r = run(["create-user", "marie", "--role", "manager"], tmp_path, stdin="a good long password\n")
    assert r.returncode == 1 and "exists" in r.stderr
    r = run(["create-user", "short", "--role", "technician"], tmp_path, stdin="short\n")
    assert r.returncode == 1 and "12 characters" in r.stderr
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.core.config import load_settings

    with TestClient(create_app(load_settings(data_dir=tmp_path), start_services=False)) as c:
        ok = c.post(
            "/api/v1/auth/token", data={"username": "marie", "password": "a good long password"}
        )
        assert ok.status_code == 200


def test_create_token_and_seed_region(tmp_path: Path) -> None:
    r = run(["create-token", "--name", "bench-1"], tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("dgb_")
    r = run(["seed-region"], tmp_path)
    assert "24 added" in r.stdout
    r = run(["seed-region"], tmp_path)
    assert "0 added, 0 changed" in r.stdout


def test_backup_while_open_and_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(["seed-region"], data).returncode == 0
    db = data / "digibank.db"
    # hold a write transaction open, as a running hub might, while the backup runs
    live = sqlite3.connect(db)
    live.execute("BEGIN IMMEDIATE")
    live.execute("INSERT INTO digibanks (name) VALUES ('Uncommitted')")
    backup = tmp_path / "copy.db"
    r = run(["backup", str(backup)], data)
    live.rollback()
    live.close()
    assert r.returncode == 0, r.stderr
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT count(*) FROM municipalities").fetchone() == (10,)
    assert copy.execute("SELECT count(*) FROM digibanks WHERE name='Uncommitted'").fetchone() == (
        0,
    )
    copy.close()
    # damage the live database, then restore
    con = sqlite3.connect(db)
    con.execute("DELETE FROM locations")
    con.commit()
    con.close()
    assert run(["restore", str(backup)], data).returncode == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM locations").fetchone() == (11,)
    con.close()


def test_restore_refuses_a_non_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    r = run(["restore", str(junk)], tmp_path)
    assert r.returncode == 1 and "not" in r.stderr


@pytest.mark.postgres
def test_backup_on_postgres_points_to_pg_dump(tmp_path: Path) -> None:
    r = run(["backup", str(tmp_path / "x")], tmp_path,
            DIGIBANK_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test")  # fmt: skip
    assert r.returncode == 1 and "pg_dump" in r.stderr
