"""Shared fixtures; keep each one small and generic (parts add their own beside their tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.broker import MosquittoBroker
from tests.mqtt_broker import started_broker


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    """A real Mosquitto from broker_config/ on a free loopback port, in its own data folder.

    Yields the MosquittoBroker: `.host`, `.port`, `.server_credentials` and
    `.admin_credentials` (username/password), `.data_dir`. Shared by the whole session:
    use distinct topics or device ids per test.
    """
    with started_broker() as broker:
        yield broker
