"""Fixtures for the agent tests (helpers live in tests/agent/helpers.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.collect.device import DeviceCollector
from tests.agent.helpers import fixture_collector


@pytest.fixture
def device_id(request: pytest.FixtureRequest) -> str:
    """A device id unique to the test (the broker fixture is shared by the session)."""
    return f"t{secrets.token_hex(4)}"


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[DeviceCollector]:
    """The real collector over recorded battery and SMART captures."""
    yield fixture_collector(tmp_path / "hw")
