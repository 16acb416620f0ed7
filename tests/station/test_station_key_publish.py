"""The station publishes its signing key on the real hub server; anyone can then verify."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from station import keys
from tests.station.test_tui_server import hub

__all__ = ["hub"]


def test_pubkey_publish_puts_the_key_on_the_server(hub: tuple[str, str], tmp_path: Path) -> None:
    url, token = hub
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIBANK_")}
    env.update(
        DIGIBANK_STATION_DATA_DIR=str(tmp_path / "station"),
        DIGIBANK_STATION_SERVER_URL=url,
        DIGIBANK_STATION_TOKEN=token,
        DIGIBANK_STATION_STATION_NAME="werkbank-2",
    )
    run = subprocess.run(
        [sys.executable, "-m", "station.cli", "pubkey", "--publish"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    mine = keys.load_public_key(run.stdout.encode())
    published = httpx.get(f"{url}/api/v1/stations/keys").json()  # no login needed
    assert [(k["key_id"], k["name"]) for k in published] == [(keys.key_id(mine), "werkbank-2")]
