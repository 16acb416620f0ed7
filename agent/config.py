"""Agent settings: a TOML file and the enrollment credentials, read into one frozen dataclass.

Files in the state folder: `agent.toml` (optional settings, see `SETTINGS`), `credentials.toml`
(written by `enroll`, mode 0600: device id, broker, MQTT user and password), `ca.pem`.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from agent.fsutil import ensure_private_dir, write_atomic
from agent.report import DEVICE_ID_RE, MAX_INTERVAL_S, MIN_INTERVAL_S

ENV_STATE_DIR = "DIGIBANK_AGENT_STATE_DIR"
SETTINGS_FILE = "agent.toml"
CREDENTIALS_FILE = "credentials.toml"
CA_FILE = "ca.pem"
UNENROLLED = "unenrolled"


class ConfigError(Exception):
    """A settings or credentials file that cannot be used; the message names file and key."""


@dataclass(frozen=True)
class AgentConfig:
    """Everything one agent needs to run; one instance per device (the demo runs many)."""

    state_dir: Path
    """Folder for credentials, sequence number, spool and status (mode 0700)."""
    device_id: str | None = None
    """The hub's id for this device, from enrollment; None before enrollment."""
    mqtt_host: str = "localhost"
    """Broker host name, from enrollment."""
    mqtt_port: int = 8883
    """Broker port, from enrollment."""
    mqtt_tls: bool = True
    """Connect with TLS (verifying the broker against `ca_file`, or the system CAs)."""
    ca_file: Path | None = None
    """PEM file of the CA that signed the broker's certificate; None: the system's CAs."""
    username: str | None = None
    """This device's own MQTT user name, from enrollment."""
    password: str | None = None
    """This device's own MQTT password, from enrollment (kept in credentials.toml, 0600)."""
    interval_s: int = 900
    """Seconds between reports; a server `set_interval` command overrides it."""
    spool_max_reports: int = 2880
    """Most reports kept while offline (2880 = 30 days at 15 minutes); oldest dropped first."""
    spool_max_bytes: int = 8 * 1024 * 1024
    """Most bytes of reports kept while offline; oldest dropped first."""
    backoff_initial_s: float = 2.0
    """First reconnect delay ceiling; doubles per failed attempt (full jitter below it)."""
    backoff_max_s: float = 600.0
    """Largest reconnect delay ceiling, so a fleet coming back after an outage spreads out."""
    keepalive_s: int = 60
    """MQTT keepalive: how soon a dead connection is noticed (and the Last Will fires)."""
    session_expiry_s: int = 7 * 24 * 3600
    """How long the broker keeps this device's session (queued commands) while it is away."""
    power_supply_dir: Path = Path("/sys/class/power_supply")
    """Where Linux exposes batteries (a test points it at a fake folder)."""

    @property
    def enrolled(self) -> bool:
        """True once enrollment stored a device id and credentials."""
        return self.device_id is not None and self.username is not None

    @property
    def report_device_id(self) -> str:
        """The id reports carry: the enrolled id, or `unenrolled` for `show` before enrollment."""
        return self.device_id or UNENROLLED


# Keys an `agent.toml` may set (the credentials file sets the broker ones too).
SETTINGS = (
    "mqtt_host",
    "mqtt_port",
    "mqtt_tls",
    "ca_file",
    "interval_s",
    "spool_max_reports",
    "spool_max_bytes",
    "backoff_initial_s",
    "backoff_max_s",
    "keepalive_s",
    "session_expiry_s",
    "power_supply_dir",
)
CREDENTIALS = ("device_id", "mqtt_host", "mqtt_port", "mqtt_tls", "username", "password", "ca_file")


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The state folder: $DIGIBANK_AGENT_STATE_DIR, else the OS's usual place for a service."""
    env = os.environ if env is None else env
    if env.get(ENV_STATE_DIR):
        return Path(env[ENV_STATE_DIR])
    if sys.platform == "win32":
        return Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "digibank-agent"
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/digibank-agent")
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "digibank-agent"


def load_config(
    state_dir: Path | None = None,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> AgentConfig:
    """Defaults, then credentials.toml, then the settings file (`config_file` or agent.toml)."""
    state = state_dir or default_state_dir(env)
    values: dict[str, Any] = {}
    creds = state / CREDENTIALS_FILE
    if creds.is_file():
        values.update(_read_toml(creds, CREDENTIALS))
    settings = config_file or state / SETTINGS_FILE
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"{config_file}: no such file")
    if settings.is_file():
        values.update(_read_toml(settings, SETTINGS))
    return _validated(AgentConfig(state_dir=state), values)


def save_credentials(config: AgentConfig, ca_pem: str | None) -> AgentConfig:
    """Store enrollment results in the state folder (credentials 0600) and return the config."""
    ensure_private_dir(config.state_dir)
    if ca_pem:
        ca_path = config.state_dir / CA_FILE
        write_atomic(ca_path, ca_pem.encode(), mode=0o644)
        config = replace(config, ca_file=ca_path)
    lines = ["# Written by `digibank-agent enroll`. Keep private: it holds this device's password."]
    for key in CREDENTIALS:
        value = getattr(config, key)
        if value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    write_atomic(config.state_dir / CREDENTIALS_FILE, ("\n".join(lines) + "\n").encode())
    return config


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    # A JSON string with ASCII escapes is a valid TOML basic string.
    return json.dumps(str(value))


def _read_toml(path: Path, allowed: tuple[str, ...]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return {k: (path, v) for k, v in data.items()}


def _validated(base: AgentConfig, values: dict[str, Any]) -> AgentConfig:
    kinds = {f.name: f.type for f in fields(AgentConfig)}
    out: dict[str, Any] = {}
    for key, (path, value) in values.items():
        hint = str(kinds[key])
        where = f"{path}: {key}"
        if hint.startswith("bool"):
            ok = isinstance(value, bool)
        elif hint.startswith("int"):
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        elif hint.startswith("float"):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            value = float(value) if ok else value
        elif "Path" in hint:
            ok = isinstance(value, str) and value != ""
            value = Path(value) if ok else value
        else:
            ok = isinstance(value, str) and value != ""
        if not ok:
            raise ConfigError(f"{where}: {value!r} is not a valid {hint.split(' ')[0]}")
        out[key] = value
    config = replace(base, **out)
    if config.device_id is not None and not DEVICE_ID_RE.match(config.device_id):
        raise ConfigError(f"device_id: {config.device_id!r} is not 1-64 of [A-Za-z0-9_-]")
    if not MIN_INTERVAL_S <= config.interval_s <= MAX_INTERVAL_S:
        raise ConfigError(f"interval_s: must be from {MIN_INTERVAL_S} to {MAX_INTERVAL_S}")
    if config.mqtt_port > 65535:
        raise ConfigError(f"mqtt_port: {config.mqtt_port} is not a TCP port")
    if config.backoff_max_s < config.backoff_initial_s:
        raise ConfigError("backoff_max_s: must not be smaller than backoff_initial_s")
    return config
