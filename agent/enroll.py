"""Enrollment: trade a one-time code at the hub for this device's id and MQTT credentials."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, save_credentials
from agent.report import DEVICE_ID_RE
from agent.service import SPOOL_DIR

log = logging.getLogger(__name__)

ENROLL_PATH = "/api/v1/enroll"
TIMEOUT_S = 30.0


class EnrollError(Exception):
    """Enrollment failed; the message says why (bad code, hub unreachable, bad answer)."""


@dataclass(frozen=True)
class Enrollment:
    """What the hub answers to a valid code."""

    device_id: str
    mqtt_host: str
    mqtt_port: int
    mqtt_tls: bool
    mqtt_username: str
    mqtt_password: str
    ca_cert: str | None = None


def request_enrollment(server: str, code: str, cafile: Path | None = None) -> Enrollment:
    """POST the code to {server}/api/v1/enroll and validate the answer."""
    parts = urllib.parse.urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EnrollError(f"--server: {server!r} is not an http(s) URL")
    if not code.strip():
        raise EnrollError("--code: empty")
    url = server.rstrip("/") + ENROLL_PATH
    body = json.dumps({"code": code.strip()}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S, context=context) as answer:
            raw = answer.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        raise EnrollError(f"the hub refused the code: HTTP {exc.code} {_detail(exc)}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise EnrollError(f"cannot reach the hub at {url}: {reason}") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EnrollError("the hub's answer is not JSON") from None
    return parse_enrollment(data)


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(exc.read(4096)).get("detail")
    except (ValueError, AttributeError, OSError):
        return exc.reason or ""
    return str(detail)[:200] if detail else (exc.reason or "")


def parse_enrollment(data: Any) -> Enrollment:
    """Validate the hub's answer; EnrollError naming the bad field."""
    if not isinstance(data, dict):
        raise EnrollError("the hub's answer is not a JSON object")
    checks: dict[str, type] = {
        "device_id": str,
        "mqtt_host": str,
        "mqtt_port": int,
        "mqtt_tls": bool,
        "mqtt_username": str,
        "mqtt_password": str,
    }
    for key, kind in checks.items():
        value = data.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise EnrollError(f"the hub's answer: {key} missing or not {kind.__name__}")
    if not DEVICE_ID_RE.match(data["device_id"]):
        raise EnrollError("the hub's answer: device_id is not a valid id")
    if not 0 < data["mqtt_port"] < 65536:
        raise EnrollError("the hub's answer: mqtt_port is not a TCP port")
    ca = data.get("ca_cert")
    if ca is not None and (not isinstance(ca, str) or "BEGIN CERTIFICATE" not in ca):
        raise EnrollError("the hub's answer: ca_cert is not a PEM certificate")
    return Enrollment(**{k: data[k] for k in checks}, ca_cert=ca)


def store_enrollment(config: AgentConfig, enrollment: Enrollment) -> AgentConfig:
    """Save credentials (0600); a new device id empties the old id's spool."""
    if config.device_id and config.device_id != enrollment.device_id:
        # Spooled reports carry the old id: the broker would refuse them on the new account.
        log.warning("re-enrolled as a new device; discarding reports of %s", config.device_id)
        shutil.rmtree(config.state_dir / SPOOL_DIR, ignore_errors=True)
    updated = replace(
        config,
        device_id=enrollment.device_id,
        mqtt_host=enrollment.mqtt_host,
        mqtt_port=enrollment.mqtt_port,
        mqtt_tls=enrollment.mqtt_tls,
        username=enrollment.mqtt_username,
        password=enrollment.mqtt_password,
        ca_file=None,
    )
    return save_credentials(updated, enrollment.ca_cert)
