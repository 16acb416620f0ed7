"""Signed sanitization certificates with the fields of NIST SP 800-88 Rev. 1 Appendix G.

A certificate file is ``{"certificate": {...}, "signature": {...}}``; the signature is
Ed25519 over the canonical JSON of ``certificate`` (sorted keys, no spaces, UTF-8), so
any change to any field makes verification fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.config import StationConfig
from station.errors import CertificateError
from station.keys import key_id, public_b64
from station.wipe import WipeOutcome

log = logging.getLogger(__name__)

FORMAT = "digibank-sanitization-certificate/1"


def canonical(body: dict[str, Any]) -> bytes:
    """The exact bytes that are signed."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(ts: datetime) -> str:
    # Milliseconds: two wipes of one disk in the same second must still sort in order.
    return ts.astimezone(UTC).isoformat(timespec="milliseconds")


def build_body(outcome: WipeOutcome, cfg: StationConfig, asset_tag: str = "") -> dict[str, Any]:
    """Build the certificate content (NIST 800-88 App. G fields) for one wipe."""
    dev = outcome.device
    hidden = outcome.hidden_areas
    v = outcome.verification
    return {
        "format": FORMAT,
        "certificate_id": str(uuid.uuid4()),
        "issued_at": _iso(datetime.now(UTC)),
        "person": {"name": cfg.technician, "role": "refurbishment technician"},
        "station": {"name": cfg.station_name, "location": cfg.location},
        "media": {
            "manufacturer": dev.vendor,
            "model": dev.model,
            "serial_number": dev.serial,
            "serial_source": dev.serial_source,
            "property_number": asset_tag,
            "media_type": dev.media_type,
            "interface": dev.transport,
            "device_name": dev.name,
            "capacity_bytes": dev.size_bytes,
        },
        "sanitization": {
            "category": outcome.category,
            "technique": outcome.technique,
            "method": outcome.method,
            "tool": outcome.tool,
            "tool_version": outcome.tool_version,
            "started_at": _iso(outcome.started_at),
            "ended_at": _iso(outcome.ended_at),
            "bytes_written": outcome.bytes_written,
            "write_throughput_bytes_per_s": round(outcome.write_bytes_per_s),
            "errors": list(outcome.errors),
        },
        "hidden_areas": {
            "checked": bool(hidden and hidden.checked),
            "hpa_present": bool(hidden and hidden.hpa_present),
            "dco_present": bool(hidden and hidden.dco_present),
            "note": hidden.note if hidden else "not checked",
        },
        "verification": {
            "method": v.method,
            "result": v.result,
            "bytes_read": v.bytes_read,
            "read_throughput_bytes_per_s": round(v.bytes_per_s),
            "bad_regions": [
                {"offset": r.offset, "length": r.length, "kind": r.kind} for r in v.bad_regions
            ],
        },
        "status": str(outcome.status),
        "status_reason": outcome.reason,
        "post_sanitization_destination": cfg.destination if outcome.status == "passed" else "",
        "evidence": [e.to_dict() for e in outcome.evidence],
    }


def sign(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Wrap ``body`` with its Ed25519 signature."""
    public = key.public_key()
    return {
        "certificate": body,
        "signature": {
            "algorithm": "Ed25519",
            "key_id": key_id(public),
            "public_key": public_b64(public),
            "value": base64.b64encode(key.sign(canonical(body))).decode(),
        },
    }


@dataclass(frozen=True)
class VerifiedCertificate:
    """A certificate whose signature checked out against a trusted key."""

    body: dict[str, Any]
    key_id: str

    @property
    def passed(self) -> bool:
        """True if the certified wipe itself was verified as passed."""
        return self.body.get("status") == "passed"


def verify(document: Any, trusted: Ed25519PublicKey) -> VerifiedCertificate:
    """Check a certificate against a trusted key; raise CertificateError unless intact."""
    if not isinstance(document, dict) or set(document) != {"certificate", "signature"}:
        raise CertificateError("not a certificate: expected exactly 'certificate' and 'signature'")
    body, sig = document["certificate"], document["signature"]
    if not isinstance(body, dict) or not isinstance(sig, dict) or body.get("format") != FORMAT:
        raise CertificateError(f"not a {FORMAT} certificate")
    if sig.get("algorithm") != "Ed25519":
        raise CertificateError(f"unsupported signature algorithm {sig.get('algorithm')!r}")
    if sig.get("key_id") != key_id(trusted):
        raise CertificateError(
            f"signed by key {sig.get('key_id')!r}, not by the trusted station key {key_id(trusted)}"
        )
    try:
        trusted.verify(base64.b64decode(str(sig.get("value", "")), validate=True), canonical(body))
    except (InvalidSignature, ValueError) as exc:
        raise CertificateError("signature does not match: the certificate was altered") from exc
    return VerifiedCertificate(body, key_id(trusted))


def load_document(path: Path) -> Any:
    """Read a certificate file as JSON, with a clear error for bad input."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CertificateError(f"cannot read certificate {path}: {exc}") from exc


def save(document: dict[str, Any], directory: Path) -> Path:
    """Write a signed certificate once, read-only; return its path."""
    body = document["certificate"]
    who = (
        body.get("media", {}).get("serial_number")
        or body.get("media", {}).get("device_name")
        or "device"
    )
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", str(who))[-32:]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{stamp}-{slug}-{body['certificate_id'][:8]}.json"
    directory.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2, ensure_ascii=False, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o444)
    return path


def build_device_record(
    disk_documents: list[dict[str, Any]],
    cfg: StationConfig,
    asset_tag: str,
    make: str = "",
    model: str = "",
) -> dict[str, Any]:
    """One record for a whole device with several disks; passed only if every disk passed."""
    components = []
    for doc in disk_documents:
        body = doc["certificate"]
        components.append(
            {
                "certificate_id": body["certificate_id"],
                "sha256": hashlib.sha256(canonical(body)).hexdigest(),
                "serial_number": body["media"]["serial_number"],
                "category": body["sanitization"]["category"],
                "status": body["status"],
            }
        )
    all_passed = bool(components) and all(c["status"] == "passed" for c in components)
    return {
        "format": FORMAT,
        "certificate_id": str(uuid.uuid4()),
        "issued_at": _iso(datetime.now(UTC)),
        "record": "device",
        "person": {"name": cfg.technician, "role": "refurbishment technician"},
        "station": {"name": cfg.station_name, "location": cfg.location},
        "media": {
            "manufacturer": make,
            "model": model,
            "property_number": asset_tag,
            "serial_number": "",
        },
        "components": components,
        # The device is only as sanitized as its weakest disk: Purge only if all were purged.
        "category": "Purge"
        if components and all(c["category"] == "Purge" for c in components)
        else "Clear",
        "status": "passed" if all_passed else "incomplete",
        "post_sanitization_destination": cfg.destination if all_passed else "",
    }
