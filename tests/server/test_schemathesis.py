"""Hostile and malformed input against the server's own OpenAPI schema: never a 5xx.

Bounded: a few dozen generated requests per operation, on SQLite, as a manager.
"""

from __future__ import annotations

import atexit
import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from server.app import create_app
from server.broker import MosquittoBroker, free_port
from server.core.config import load_settings
from server.core.migrate import upgrade
from server.models import User
from server.region import seed_region
from server.security import hash_password, issue_token
from tests.mqtt_broker import broker_data_dir

# A real broker beside the app, so enrollment and revocation run their real paths.
_DIR = broker_data_dir("digibank-schemathesis-")
BROKER = MosquittoBroker(_DIR, free_port())
BROKER.start()
atexit.register(shutil.rmtree, _DIR, True)
atexit.register(BROKER.stop)
APP = create_app(
    load_settings(data_dir=_DIR, database_url="", mqtt_port=BROKER.port), start_services=False
)
upgrade(APP.state.engine)
with APP.state.sessionmaker() as _s:
    seed_region(_s)
    _s.add(User(username="boss", password_hash=hash_password("x" * 16), role="manager"))
    _s.flush()
    TOKEN = issue_token(_s, name="boss", role="manager", user_id=1, ttl=None)
    _s.commit()

schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    if case.path == "/api/v1/auth/logout":
        return  # would revoke the token every other case runs with
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
