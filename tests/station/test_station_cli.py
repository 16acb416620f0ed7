"""The headless CLI end to end, as a script would use it (subprocess, real loop devices)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "digibank-station"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DIGIBANK_STATION_DATA_DIR": str(tmp_path / "data"),
        "DIGIBANK_STATION_TECHNICIAN": "CLI Tester",
        "DIGIBANK_STATION_ALLOW_LOOP_DEVICES": "true",
    }
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.root
def test_wipe_prints_certificate_path_last_and_verify_accepts_it(tmp_path, make_loop):
    path = make_loop(64)
    name = os.path.basename(path)
    res = run(tmp_path, "wipe", path, "--method", "overwrite", "--confirm", name)
    assert res.returncode == 0, res.stderr
    cert = Path(res.stdout.strip().splitlines()[-1])
    assert cert.is_file() and cert.suffix == ".json"
    assert "verify" in res.stderr and "%" in res.stderr  # progress went to stderr
    with open(path, "rb") as fh:
        assert fh.read() == bytes(64 << 20)
    assert json.loads(cert.read_text())["certificate"]["person"]["name"] == "CLI Tester"

    ok = run(tmp_path, "verify", str(cert))
    assert ok.returncode == 0, ok.stderr

    tampered = tmp_path / "tampered.json"
    doc = json.loads(cert.read_text())
    doc["certificate"]["sanitization"]["bytes_written"] += 1
    tampered.write_text(json.dumps(doc))
    bad = run(tmp_path, "verify", str(tampered))
    assert bad.returncode != 0
    assert "altered" in bad.stderr


@pytest.mark.root
def test_wrong_confirm_is_refused_with_non_zero_exit(tmp_path, make_loop):
    path = make_loop(16)
    res = run(tmp_path, "wipe", path, "--method", "overwrite", "--confirm", "nope")
    assert res.returncode != 0
    assert "refused" in res.stderr and "does not match" in res.stderr
    assert res.stdout == ""


@pytest.mark.root
def test_list_json_shows_an_admitted_loop_device(tmp_path, make_loop):
    name = os.path.basename(make_loop(16))
    res = run(tmp_path, "list", "--json")
    assert res.returncode == 0, res.stderr
    rows = {row["name"]: row for row in json.loads(res.stdout)}
    assert rows[name]["transport"] == "loop" and rows[name]["kind"] == "disk"
    assert rows[name]["size_bytes"] == 16 << 20
    assert rows[name]["confirm_hint"] == "kernel name"
    assert rows[name]["refusals"] == []


def test_verify_of_a_missing_or_broken_file_fails_cleanly(tmp_path):
    res = run(tmp_path, "verify", str(tmp_path / "nope.json"))
    assert res.returncode != 0 and "Traceback" not in res.stderr
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2")
    res = run(tmp_path, "verify", str(junk))
    assert res.returncode != 0 and "Traceback" not in res.stderr


def test_pubkey_prints_a_pem_key_that_verifies_the_stations_certificates(tmp_path):
    res = run(tmp_path, "pubkey")
    assert res.returncode == 0
    assert res.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    again = run(tmp_path, "pubkey")
    assert again.stdout == res.stdout  # generated once, then reused


def test_unknown_device_is_an_error_not_a_traceback(tmp_path):
    res = run(tmp_path, "wipe", "/dev/nonexistent0", "--confirm", "x")
    assert res.returncode != 0
    assert "no block device" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.root
def test_published_public_key_verifies_and_a_device_record_covers_two_disks(tmp_path, make_loop):
    certs = []
    for _ in range(2):
        path = make_loop(16)
        res = run(
            tmp_path, "wipe", path, "--method", "zeroout", "--confirm", os.path.basename(path)
        )
        assert res.returncode == 0, res.stderr
        certs.append(res.stdout.strip().splitlines()[-1])
    pem = tmp_path / "station.pem"
    pem.write_text(run(tmp_path, "pubkey").stdout)
    assert run(tmp_path, "verify", certs[0], "--public-key", str(pem)).returncode == 0

    other = tmp_path / "other"  # another station's data folder: another key
    other_pem = tmp_path / "other.pem"
    other_pem.write_text(run(other, "pubkey").stdout)
    refused = run(tmp_path, "verify", certs[0], "--public-key", str(other_pem))
    assert refused.returncode != 0 and "not by the trusted station key" in refused.stderr

    record = run(tmp_path, "record", *certs, "--asset-tag", "DB-000042", "--make", "Lenovo")
    assert record.returncode == 0, record.stderr
    body = json.loads(Path(record.stdout.strip().splitlines()[-1]).read_text())["certificate"]
    assert body["record"] == "device" and body["status"] == "passed"
    assert len(body["components"]) == 2
    assert run(tmp_path, "verify", record.stdout.strip()).returncode == 0


@pytest.mark.root
def test_a_method_the_device_does_not_offer_is_a_clear_error(tmp_path, make_loop):
    path = make_loop(16)
    name = os.path.basename(path)
    res = run(tmp_path, "wipe", path, "--method", "nvme-format-crypto", "--confirm", name)
    assert res.returncode == 2 and "not offered for this device" in res.stderr
    assert res.stdout == ""
    with open(path, "rb") as fh:
        assert fh.read(4) == b"\xa5" * 4  # untouched


@pytest.mark.root
@pytest.mark.slow
def test_ctrl_c_mid_wipe_records_an_incomplete_wipe_and_fails(tmp_path, make_loop):
    import signal

    path = make_loop(1024, fill=None)
    env = {**os.environ, "DIGIBANK_STATION_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [str(CLI), "wipe", path, "--method", "overwrite", "--confirm", os.path.basename(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first progress line: the wipe is writing
    assert first.startswith("write")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    cert = json.loads(Path(out.strip().splitlines()[-1]).read_text())["certificate"]
    assert cert["status"] == "incomplete" and "cancelled" in cert["status_reason"]
