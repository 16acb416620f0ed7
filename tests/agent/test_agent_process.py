"""The installed `digibank-agent` command end to end: enroll, run, stop, vanish (Last Will)."""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agent.report import HealthReport, health_topic, status_topic
from server.broker import MosquittoBroker
from tests.agent.helpers import provision
from tests.mqtt_broker import close, server_client, subscribe

EXE = shutil.which("digibank-agent", path=str(Path(sys.executable).parent))


def serve_enrollment(answer: dict[str, Any]) -> tuple[ThreadingHTTPServer, str]:
    """A one-shot enrollment endpoint on a free port answering `answer` for code ONCE."""

    class Hub(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ok = self.path == "/api/v1/enroll" and body == {"code": "ONCE"}
            raw = json.dumps(answer if ok else {"detail": "bad code"}).encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def enrolled_state(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[tuple[Path, str]]:
    device_id = f"p{secrets.token_hex(4)}"
    host, port = mosquitto.device_endpoint
    answer = {
        "device_id": device_id,
        "mqtt_host": host,
        "mqtt_port": port,
        "mqtt_tls": False,
        "mqtt_username": f"device-{device_id}",
        "mqtt_password": provision(mosquitto, device_id),
    }
    server, url = serve_enrollment(answer)
    state = tmp_path / "state"
    try:
        assert EXE, "digibank-agent is not installed in the virtual environment"
        done = subprocess.run(
            [EXE, "--state-dir", str(state), "enroll", "--server", url, "--code", "ONCE"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        (state / "agent.toml").write_text("keepalive_s = 2\nbackoff_initial_s = 0.2\n")
        yield state, device_id
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_run_reports_then_stops_cleanly_or_leaves_a_last_will(
    enrolled_state: tuple[Path, str], mosquitto: MosquittoBroker
) -> None:
    state, device_id = enrolled_state
    assert EXE
    sub, got = server_client(mosquitto)
    try:
        subscribe(sub, health_topic(device_id))
        subscribe(sub, status_topic(device_id))
        for stop in (signal.SIGTERM, signal.SIGKILL):
            got.messages.clear()
            proc = subprocess.Popen(
                [EXE, "--state-dir", str(state), "run"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                assert wait_for_payload(got, b"online"), "the agent never said online"
                report = wait_for_topic(got, health_topic(device_id))
                assert report is not None, "no report arrived"
                assert HealthReport.from_json(report).device_id == device_id
                proc.send_signal(stop)
                proc.wait(15)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
            # Clean stop: the agent says offline itself; killed: the broker's Last Will does.
            assert wait_for_payload(got, b"offline", timeout=10), f"no offline after {stop!r}"
            if stop == signal.SIGTERM:
                assert proc.returncode == 0
        status = subprocess.run(
            [EXE, "--state-dir", str(state), "status", "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        info = json.loads(status.stdout)
        assert info["device_id"] == device_id and info["last_sent_at"] is not None
        assert info["sent"] >= 1
    finally:
        close(sub)


def wait_for_payload(got: Any, payload: bytes, timeout: float = 10.0) -> bool:
    for count in range(1, 1000):
        messages = got.wait_for(count, timeout=timeout)
        if len(messages) < count:
            return False
        if messages[count - 1].payload == payload:
            return True
    return False


def wait_for_topic(got: Any, topic: str, timeout: float = 10.0) -> bytes | None:
    for count in range(1, 1000):
        messages = got.wait_for(count, timeout=timeout)
        if len(messages) < count:
            return None
        if messages[count - 1].topic == topic:
            return bytes(messages[count - 1].payload)
    return None


@pytest.mark.slow
def test_agent_killed_mid_drain_loses_nothing(
    enrolled_state: tuple[Path, str], mosquitto: MosquittoBroker
) -> None:
    state, device_id = enrolled_state
    assert EXE
    from agent.config import load_config
    from agent.service import Agent
    from tests.agent.helpers import fixture_collector

    # Reports made while offline, by the real collection path, waiting in the spool.
    offline = Agent(load_config(state), fixture_collector(state.parent / "hw"))
    for _ in range(300):
        offline.collect_once()
    spool = state / "spool"
    sub, got = server_client(mosquitto)
    try:
        subscribe(sub, health_topic(device_id))
        proc = subprocess.Popen([EXE, "--state-dir", str(state), "run"], stderr=subprocess.DEVNULL)
        got.wait_for(20, timeout=15)
        # Kill once the agent has seen some of its reports acknowledged (removed from the
        # spool): on a loaded machine that can come well after the first deliveries.
        deadline = time.monotonic() + 15
        while len(list(spool.glob("*.json"))) > 290 and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.kill()  # power cut: no clean stop, PUBACKs in flight are lost with the process
        proc.wait(5)
        left = len(list(spool.glob("*.json")))
        assert 0 < left < 301, "the kill did not land mid-drain"
        proc = subprocess.Popen([EXE, "--state-dir", str(state), "run"], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while list(spool.glob("*.json")) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not list(spool.glob("*.json"))
        finally:
            proc.terminate()
            proc.wait(15)
        messages = got.wait_for(302, timeout=5)  # 300 + one report per start
    finally:
        close(sub)
    seqs = [HealthReport.from_json(m.payload).seq for m in messages]
    first: dict[int, None] = dict.fromkeys(seqs)
    assert sorted(first) == list(range(302))  # nothing lost
    assert list(first) == sorted(first)  # first arrivals in order; repeats are allowed (QoS 1)
