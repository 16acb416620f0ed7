"""Certificates: signed with the station key, verified offline, and any tampering fails."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from station import certificate, keys
from station.errors import CertificateError
from station.hw.blockdev import BlockDevice
from station.wipe import Status, Verification, WipeOutcome


def _outcome(status: Status = Status.PASSED) -> WipeOutcome:
    dev = BlockDevice(
        name="sdb", path="/dev/sdb", major_minor="8:16", size_bytes=500107862016,
        transport="sata", vendor="ATA", model="ST3500418AS", serial="5VM1ABCD",
        serial_source="udev ID_SERIAL_SHORT", rotational=True,
    )  # fmt: skip
    now = datetime.now(UTC)
    return WipeOutcome(
        device=dev, method="overwrite", category="Clear", technique="overwrite with zeros",
        status=status, started_at=now, ended_at=now, bytes_written=dev.size_bytes,
        write_bytes_per_s=150e6,
        verification=Verification("full read-back", "passed", dev.size_bytes),
    )  # fmt: skip


@pytest.fixture
def key(cfg):
    return keys.load_or_create_key(cfg.key_dir)


def test_certificate_has_the_nist_appendix_g_fields(cfg, key):
    body = certificate.build_body(_outcome(), cfg, asset_tag="DB-000042")
    assert body["media"] == {
        "manufacturer": "ATA", "model": "ST3500418AS", "serial_number": "5VM1ABCD",
        "serial_source": "udev ID_SERIAL_SHORT", "property_number": "DB-000042",
        "media_type": "magnetic (HDD)", "interface": "sata", "device_name": "sdb",
        "capacity_bytes": 500107862016,
    }  # fmt: skip
    assert body["sanitization"]["category"] == "Clear"
    assert body["person"]["name"] == "Test Technician"
    assert body["station"] == {"name": "test-station", "location": "test hub"}
    assert body["verification"]["result"] == "passed"
    assert body["post_sanitization_destination"]


def test_signed_certificate_verifies_and_saved_file_is_read_only(cfg, key):
    doc = certificate.sign(certificate.build_body(_outcome(), cfg), key)
    path = certificate.save(doc, cfg.certificate_dir)
    assert path.stat().st_mode & 0o222 == 0
    verified = certificate.verify(certificate.load_document(path), key.public_key())
    assert verified.passed
    assert verified.key_id == keys.key_id(key.public_key())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["certificate"]["media"].__setitem__("serial_number", "5VM1ABCE"),
        lambda d: d["certificate"].__setitem__("status", "passed"),
        lambda d: d["certificate"]["sanitization"].__setitem__("category", "Purge"),
        lambda d: d["certificate"]["verification"].__setitem__("bytes_read", 1),
        lambda d: d["signature"].__setitem__("value", d["signature"]["value"][:-4] + "AAA="),
    ],
)
def test_any_tampering_fails_verification(cfg, key, tamper):
    doc = certificate.sign(certificate.build_body(_outcome(Status.FAILED), cfg), key)
    bad = copy.deepcopy(doc)
    tamper(bad)
    assert bad != doc
    with pytest.raises(CertificateError):
        certificate.verify(bad, key.public_key())


def test_another_stations_key_is_not_trusted(cfg, key):
    doc = certificate.sign(certificate.build_body(_outcome(), cfg), Ed25519PrivateKey.generate())
    with pytest.raises(CertificateError, match="not by the trusted station key"):
        certificate.verify(doc, key.public_key())


def test_garbage_is_a_clear_error_not_a_crash(tmp_path, key):
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(CertificateError, match="cannot read"):
        certificate.load_document(path)
    with pytest.raises(CertificateError, match="not a certificate"):
        certificate.verify({"hello": 1}, key.public_key())


def test_key_is_created_once_private_and_reused(cfg):
    first = keys.load_or_create_key(cfg.key_dir)
    second = keys.load_or_create_key(cfg.key_dir)
    assert keys.key_id(first.public_key()) == keys.key_id(second.public_key())
    assert (cfg.key_dir / keys.KEY_FILE).stat().st_mode & 0o077 == 0
    pem = keys.public_pem(first.public_key()).encode()
    assert keys.key_id(keys.load_public_key(pem)) == keys.key_id(first.public_key())


def test_device_record_passes_only_if_every_disk_passed(cfg, key):
    good = certificate.sign(certificate.build_body(_outcome(), cfg), key)
    bad = certificate.sign(certificate.build_body(_outcome(Status.INCOMPLETE), cfg), key)
    ok = certificate.build_device_record([good, good], cfg, "DB-000042")
    mixed = certificate.build_device_record([good, bad], cfg, "DB-000042")
    assert ok["status"] == "passed" and len(ok["components"]) == 2
    assert mixed["status"] == "incomplete"
    signed = certificate.sign(mixed, key)
    assert (
        certificate.verify(json.loads(json.dumps(signed)), key.public_key()).body["record"]
        == "device"
    )


def test_pdf_is_written(cfg, key, tmp_path):
    from station.certificate_pdf import write_pdf

    doc = certificate.sign(certificate.build_body(_outcome(), cfg, "DB-ÿ€"), key)
    out = write_pdf(doc, tmp_path / "c.pdf")
    assert out.read_bytes().startswith(b"%PDF")
