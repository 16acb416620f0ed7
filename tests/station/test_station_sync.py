"""Server sync against a small local HTTP stub: offline queue, order, auth, rejections."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from station.sync import Outbox, ServerSync

TOKEN = "test-token-generated-in-test"


class StubApi:
    """Just enough of the server API contract to check what the station sends."""

    def __init__(self, port: int) -> None:
        self.received: list[tuple[str, str, dict]] = []
        self.devices: dict[str, dict] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._reply(401, {"detail": "bad token"})
                q = parse_qs(urlparse(self.path).query).get("q", [""])[0]
                items = [d for d in stub.devices.values() if q in (d["serial"], d["asset_tag"])]
                self._reply(200, {"items": items, "total": len(items)})

            def do_POST(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._reply(401, {"detail": "bad token"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                path = urlparse(self.path).path
                stub.received.append(("POST", path, body))
                if path == "/api/v1/devices":
                    dev_id = str(len(stub.devices) + 1)
                    dev = {"id": dev_id, "asset_tag": f"DB-{int(dev_id):06d}", "state": "intake",
                           "serial": body["serial"]}  # fmt: skip
                    stub.devices[dev_id] = dev
                    return self._reply(201, dev)
                if path.endswith("/transition") and body["to"] == "ready":
                    return self._reply(409, {"detail": "no passed wipe"})
                return self._reply(201, {"ok": True})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StubApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port


def test_results_made_while_server_is_down_arrive_in_order_when_it_is_back(tmp_path, free_port):
    sync = ServerSync(
        f"http://127.0.0.1:{free_port}", TOKEN, Outbox(tmp_path / "queue"), timeout_s=30
    )
    sync.intake("laptop", "Lenovo", "ThinkPad T480", "PF1ABCDE", {"cpu": "i5-8350U", "ram_gb": 8})
    sync.job("PF1ABCDE", {"kind": "diagnostics", "status": "passed"})
    sync.job("PF1ABCDE", {"kind": "wipe", "status": "passed", "certificate": {"x": 1}})
    sync.condition("PF1ABCDE", {"cosmetic_grade": "B", "functional_grade": "A"})

    down = sync.flush()
    assert down.sent == 0 and down.remaining == 4 and down.error

    with StubApi(free_port) as api:
        up = sync.flush()
    assert (up.sent, up.rejected, up.remaining) == (4, 0, 0)
    assert [(path, body.get("kind")) for _, path, body in api.received] == [
        ("/api/v1/devices", "laptop"),
        ("/api/v1/devices/1/jobs", "diagnostics"),
        ("/api/v1/devices/1/jobs", "wipe"),
        ("/api/v1/devices/1/conditions", None),
    ]
    sync.close()


def test_queue_survives_a_restart(tmp_path, free_port):
    first = ServerSync(f"http://127.0.0.1:{free_port}", TOKEN, Outbox(tmp_path / "q"), timeout_s=30)
    first.intake("tablet", "Samsung", "Galaxy Tab A", "R52N1", {})
    first.flush()
    first.close()
    second = ServerSync(
        f"http://127.0.0.1:{free_port}", TOKEN, Outbox(tmp_path / "q"), timeout_s=30
    )
    with StubApi(free_port) as api:
        assert second.flush().sent == 1
    assert api.received[0][2]["serial"] == "R52N1"
    second.close()


def test_wrong_token_keeps_the_queue_and_a_refused_record_is_set_aside(tmp_path, free_port):
    outbox = Outbox(tmp_path / "q")
    bad = ServerSync(f"http://127.0.0.1:{free_port}", "wrong", outbox, timeout_s=30)
    bad.intake("laptop", "HP", "EliteBook", "CZC123", {})
    with StubApi(free_port) as api:
        assert bad.flush().remaining == 1  # 401: nothing lost
        good = ServerSync(f"http://127.0.0.1:{free_port}", TOKEN, outbox, timeout_s=30)
        good.transition("CZC123", "ready", "graded")
        good.job("CZC123", {"kind": "wipe", "status": "passed"})
        res = good.flush()
    assert (res.sent, res.rejected, res.remaining) == (2, 1, 0)
    rejected = json.loads(next(outbox.rejected_dir.glob("*.json")).read_text())
    assert rejected["op"] == "transition" and "409" in rejected["rejected_with"]
    assert api.received[-1][1] == "/api/v1/devices/1/jobs"
    bad.close()
    good.close()


@pytest.mark.root
def test_cli_wipe_offline_queues_the_certificate_and_sync_sends_it_later(
    tmp_path, free_port, make_loop
):
    cli = Path(sys.executable).parent / "digibank-station"
    env = {
        **os.environ,
        "DIGIBANK_STATION_DATA_DIR": str(tmp_path / "data"),
        "DIGIBANK_STATION_SERVER_URL": f"http://127.0.0.1:{free_port}",
        "DIGIBANK_STATION_TOKEN": TOKEN,
    }
    path = make_loop(16)
    name = os.path.basename(path)
    args = ["wipe", path, "--method", "zeroout", "--confirm", name, "--device-ref", "PF1ABCDE"]
    wipe = subprocess.run([str(cli), *args], capture_output=True, text=True, env=env, timeout=120)
    assert wipe.returncode == 0, wipe.stderr
    assert "server unreachable, 1 queued" in wipe.stderr
    cert = json.loads(Path(wipe.stdout.strip().splitlines()[-1]).read_text())

    with StubApi(free_port) as api:
        api.devices["7"] = {"id": "7", "asset_tag": "DB-000007", "state": "refurbishing",
                            "serial": "PF1ABCDE"}  # fmt: skip
        sync = subprocess.run(
            [str(cli), "sync"], capture_output=True, text=True, env=env, timeout=60
        )
    assert sync.returncode == 0, sync.stderr
    _, url, body = api.received[0]
    assert url == "/api/v1/devices/7/jobs"
    assert body["kind"] == "wipe" and body["status"] == "passed" and body["method"] == "zeroout"
    assert body["certificate"] == cert


def test_cli_intake_prints_the_asset_tag_the_server_gave(tmp_path, free_port):
    cli = Path(sys.executable).parent / "digibank-station"
    env = {
        **os.environ,
        "DIGIBANK_STATION_DATA_DIR": str(tmp_path / "data"),
        "DIGIBANK_STATION_SERVER_URL": f"http://127.0.0.1:{free_port}",
        "DIGIBANK_STATION_TOKEN": TOKEN,
    }
    args = ["intake", "--kind", "laptop", "--make", "Dell", "--model", "Latitude 5490",
            "--serial", "7XYZ123", "--cpu", "i5-8250U", "--ram-gb", "8", "--storage-gb", "256"]  # fmt: skip
    with StubApi(free_port) as api:
        res = subprocess.run([str(cli), *args], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "DB-000001"
    _, url, body = api.received[0]
    assert url == "/api/v1/devices"
    assert body["specs"] == {"cpu": "i5-8250U", "ram_gb": 8.0, "storage_gb": 256.0}


def test_two_writers_never_overwrite_each_other(tmp_path):
    import threading

    queue_dir = tmp_path / "q"
    boxes = [Outbox(queue_dir), Outbox(queue_dir)]  # like the TUI and a CLI run side by side

    def fill(box: Outbox, who: str) -> None:
        for i in range(50):
            box.put({"op": "jobs", "ref": who, "body": {"i": i}})

    threads = [threading.Thread(target=fill, args=(b, f"w{n}")) for n, b in enumerate(boxes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = [json.loads(p.read_text()) for p in boxes[0].pending()]
    assert len(records) == 100
    for who in ("w0", "w1"):
        assert [r["body"]["i"] for r in records if r["ref"] == who] == list(range(50))
