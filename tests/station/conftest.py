"""Fixtures for the station tests: real loop devices (as root), a station config in tmp, and
the tests' own CUPS scheduler."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from station.config import StationConfig
from station.service import Station
from tests.station.cups_server import CupsServer, missing_cups, started_cups

DATA = Path(__file__).resolve().parent.parent / "data" / "station"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the station's root-only tests (marked ``root``) when not running as root."""
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (loop devices, uevents)")
    for item in items:
        if "root" in item.keywords and str(item.fspath).startswith(str(Path(__file__).parent)):
            item.add_marker(skip)


def _losetup(*args: str) -> str:
    return subprocess.run(
        ["losetup", *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def data_dir() -> Path:
    """The station's recorded tool outputs (see tests/data/station/SOURCES.md)."""
    return DATA


@pytest.fixture
def make_loop(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Factory: attach a loop device over a sparse file in tmp; always detached afterwards."""
    attached: list[str] = []

    def make(size_mib: int = 64, fill: bytes | None = b"\xa5") -> str:
        backing = tmp_path / f"disk{len(attached)}.img"
        with open(backing, "wb") as fh:
            if fill is None:
                fh.truncate(size_mib << 20)
            else:
                block = fill * (1 << 20)
                for _ in range(size_mib):
                    fh.write(block)
        path = _losetup("-f", "--show", str(backing))
        attached.append(path)
        return path

    yield make
    for path in attached:
        subprocess.run(["losetup", "-d", path], capture_output=True, check=False)


@pytest.fixture
def cfg(tmp_path: Path) -> StationConfig:
    """A station configuration writing into tmp, admitting loop devices."""
    return StationConfig(
        data_dir=tmp_path / "station-data",
        technician="Test Technician",
        station_name="test-station",
        location="test hub",
        allow_loop_devices=True,
    )


@pytest.fixture
def station(cfg: StationConfig) -> Station:
    """A headless station with the real command runner."""
    return Station(cfg)


@pytest.fixture(scope="session")
def cups() -> Iterator[CupsServer]:
    """The tests' own CUPS scheduler (tests/station/cups_server.py), one for the session.

    Tests point the station at it with ``label_print_server`` (``cups.server``) and make
    their own queue with ``cups.new_queue()``. Skipped where CUPS is not installed, except
    in CI (``CI=true``), where scripts/bootstrap.sh installs it: there it fails.
    """
    lacking = missing_cups()
    if lacking:
        if os.environ.get("CI") == "true":
            pytest.fail(lacking)
        pytest.skip(lacking)
    with started_cups() as server:
        yield server
