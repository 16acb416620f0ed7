"""Settings, enrollment against a real HTTP server, and the `digibank-agent` commands."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from agent.cli import main
from agent.config import ConfigError, load_config
from agent.enroll import EnrollError, parse_enrollment, request_enrollment, store_enrollment
from agent.state import SequenceStore

GOOD = {
    "device_id": "lap-0042",
    "mqtt_host": "hub.example",
    "mqtt_port": 8883,
    "mqtt_tls": True,
    "mqtt_username": "device-lap-0042",
    "mqtt_password": 'p"w\\d=1',
    "ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}


class _Hub(BaseHTTPRequestHandler):
    codes: ClassVar[dict[str, Any]] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = self.codes.pop(body.get("code"), None) if self.path == "/api/v1/enroll" else None
        status, data = (200, answer) if answer else (404, {"detail": "unknown or used code"})
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_enroll_stores_private_credentials_once(
    hub: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _Hub.codes["ABCD-1234"] = GOOD
    state = tmp_path / "state"
    assert main(["--state-dir", str(state), "enroll", "--server", hub, "--code", "ABCD-1234"]) == 0
    creds = state / "credentials.toml"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    config = load_config(state)
    assert config.enrolled and config.device_id == "lap-0042"
    assert (config.username, config.password) == ("device-lap-0042", 'p"w\\d=1')
    assert config.ca_file == state / "ca.pem" and config.ca_file.read_text() == GOOD["ca_cert"]
    assert (config.mqtt_host, config.mqtt_port, config.mqtt_tls) == ("hub.example", 8883, True)
    # The code is single-use at the hub; the agent reports the refusal clearly.
    code = main(["--state-dir", str(state), "enroll", "--server", hub, "--code", "ABCD-1234"])
    assert code == 2
    assert "unknown or used code" in capsys.readouterr().err


def test_enroll_rejects_bad_input_clearly(hub: str) -> None:
    with pytest.raises(EnrollError, match="not an http"):
        request_enrollment("ftp://x", "c")
    with pytest.raises(EnrollError, match="cannot reach"):
        request_enrollment("http://127.0.0.1:1", "c")
    with pytest.raises(EnrollError, match="mqtt_port"):
        parse_enrollment({**GOOD, "mqtt_port": "8883"})
    with pytest.raises(EnrollError, match="device_id"):
        parse_enrollment({**GOOD, "device_id": "../etc"})
    with pytest.raises(EnrollError, match="ca_cert"):
        parse_enrollment({**GOOD, "ca_cert": "hello"})


def test_reenrolling_as_another_device_discards_the_old_spool(tmp_path: Path) -> None:
    config = store_enrollment(load_config(tmp_path), parse_enrollment(GOOD))
    (tmp_path / "spool").mkdir()
    (tmp_path / "spool" / f"{1:020d}.json").write_text("{}")
    store_enrollment(config, parse_enrollment({**GOOD, "device_id": "lap-0043"}))
    assert not (tmp_path / "spool").exists()
    assert load_config(tmp_path).device_id == "lap-0043"


def test_settings_file_overrides_and_validation(tmp_path: Path) -> None:
    (tmp_path / "agent.toml").write_text("interval_s = 300\nspool_max_reports = 10\n")
    config = load_config(tmp_path)
    assert (config.interval_s, config.spool_max_reports, config.enrolled) == (300, 10, False)
    for text, needle in [
        ("interval_s = 5\n", "interval_s"),
        ("interval_s = 'often'\n", "interval_s"),
        ("hostname = 'x'\n", "unknown setting"),
        ("interval_s = \n", "not valid TOML"),
    ]:
        (tmp_path / "agent.toml").write_text(text)
        with pytest.raises(ConfigError, match=needle):
            load_config(tmp_path)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path, tmp_path / "missing.toml")


def test_state_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGIBANK_AGENT_STATE_DIR", str(tmp_path / "envstate"))
    assert load_config().state_dir == tmp_path / "envstate"


def test_show_before_enrollment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--state-dir", str(tmp_path / "s"), "show"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["device_id"], report["seq"], report["schema"]) == ("unenrolled", 0, 1)
    assert not (tmp_path / "s").exists()  # show writes nothing


def test_show_does_not_consume_a_sequence_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_enrollment(load_config(tmp_path), parse_enrollment(GOOD))
    store = SequenceStore(tmp_path)
    store.next()
    store.next()
    for _ in range(2):
        assert main(["--state-dir", str(tmp_path), "show", "--compact"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert (report["device_id"], report["seq"]) == ("lap-0042", 2)
    assert SequenceStore(tmp_path).peek() == 2


def test_status_and_run_before_enrollment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--state-dir", str(tmp_path), "run"]) == 2
    assert "not enrolled" in capsys.readouterr().err
    assert main(["--state-dir", str(tmp_path), "status", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["enrolled"], info["spool_reports"], info["last_sent_at"]) == (False, 0, None)
    assert main(["--state-dir", str(tmp_path), "status"]) == 0
    assert "never" in capsys.readouterr().out


def test_credentials_not_world_readable_even_with_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store_enrollment(load_config(tmp_path / "s"), parse_enrollment(GOOD))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s" / "credentials.toml").stat().st_mode) == 0o600
