"""Station settings: env ``DIGIBANK_STATION_*`` over an optional TOML file, one frozen object."""

from __future__ import annotations

import os
import re
import shlex
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from station.errors import ConfigError

ENV_PREFIX = "DIGIBANK_STATION_"


@dataclass(frozen=True)
class StationConfig:
    """Settings of one station; each can come from TOML or ``DIGIBANK_STATION_<NAME>``."""

    #: Folder for the signing key, certificates, evidence and the offline queue.
    data_dir: Path = Path("data/station")
    #: Base URL of the hub server, e.g. https://hub.example; empty = no sync.
    server_url: str = ""
    #: Bearer token issued by the server for this station (never committed).
    token: str = ""
    #: Name of the technician shown on certificates.
    technician: str = ""
    #: Name of this station (defaults to the host name).
    station_name: str = ""
    #: Where the station stands (NIST 800-88: location of sanitization).
    location: str = "hub"
    #: Show loop devices in the live table (tests and training only).
    allow_loop_devices: bool = False
    #: Interface language: nl (default) or en.
    language: str = "nl"
    #: Post-sanitization destination written on certificates.
    destination: str = "reuse (refurbished for lending)"
    #: Seconds between attempts to send the offline queue.
    sync_interval_s: float = 30.0
    #: CUPS queue the label PDF is sent to with ``lp -d`` (``lpstat -e`` lists them);
    #: empty = labels are only written as files.
    label_printer: str = ""
    #: CUPS job options for labels, each passed as ``lp -o``, space-separated, e.g.
    #: ``media=Custom.62x29mm fit-to-page`` (``lpoptions -p QUEUE -l`` lists a queue's).
    label_printer_options: str = ""
    #: CUPS server that holds ``label_printer``, ``host[:port]`` (e.g. the hub's print server
    #: ``print.hub.example:631``), passed as ``lp -h``; empty = the system's default server.
    label_print_server: str = ""
    #: Absolute folders (colon-separated) searched for the station's tools before the system's,
    #: e.g. ``/opt/cups/bin``; empty = the system's folders only.
    tool_path: str = ""

    @property
    def key_dir(self) -> Path:
        """Folder of the station's Ed25519 key."""
        return self.data_dir / "keys"

    @property
    def certificate_dir(self) -> Path:
        """Folder of issued certificates."""
        return self.data_dir / "certificates"

    @property
    def evidence_dir(self) -> Path:
        """Folder of immutable tool-output evidence."""
        return self.data_dir / "evidence"

    @property
    def queue_dir(self) -> Path:
        """Folder of the ordered offline queue to the server."""
        return self.data_dir / "queue"

    @property
    def label_options(self) -> tuple[str, ...]:
        """The label printer's CUPS job options, one ``name=value`` (or ``name``) each."""
        return tuple(shlex.split(self.label_printer_options))


# A CUPS queue name: printable, no space, '/', '#' or quote (CUPS refuses them); no leading '-'.
_QUEUE_RE = re.compile(r"^[^\s/#'\"\\-][^\s/#'\"\\]{0,126}$")


# A CUPS server as lp -h takes it: a host name, an IPv4 address or a bracketed IPv6 address,
# then an optional port.
_SERVER_RE = re.compile(
    r"^(?:(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))|\[(?P<ipv6>[0-9A-Fa-f:.]+)\])"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)


def _check_print_server(server: str) -> None:
    match = _SERVER_RE.match(server)
    port = match and match.group("port")
    if match is None or (port is not None and not 1 <= int(port) <= 65535):
        raise ConfigError(
            f"label_print_server {server!r} is not host[:port] (e.g. print.hub.example:631)"
        )


def _check_printing(cfg: StationConfig) -> None:
    if cfg.label_printer and not _QUEUE_RE.match(cfg.label_printer):
        raise ConfigError(f"label_printer {cfg.label_printer!r} is not a CUPS queue name")
    if cfg.label_print_server:
        _check_print_server(cfg.label_print_server)
    try:
        options = cfg.label_options
    except ValueError as exc:
        raise ConfigError(f"label_printer_options: {exc}") from exc
    for option in options:
        if option.startswith("-"):
            raise ConfigError(
                f"label_printer_options: give CUPS options as name=value (each is passed "
                f"as -o), got {option!r}"
            )


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    if kind in ("bool", bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{name}: expected true/false, got {raw!r}")
    if kind in ("float", float):
        try:
            return float(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from exc
    if kind in ("Path", Path):
        return Path(str(raw))
    return str(raw)


def load_config(
    env: Mapping[str, str] | None = None, toml_path: Path | None = None
) -> StationConfig:
    """Load settings: defaults, then the TOML file (``DIGIBANK_STATION_CONFIG``), then env."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = toml_path or (
        Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None
    )
    if path is not None:
        try:
            values.update(tomllib.loads(path.read_text()).get("station", {}))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read station config {path}: {exc}") from exc
    known = {f.name: f for f in fields(StationConfig)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown station setting(s): {', '.join(sorted(unknown))}")
    for name in known:
        if ENV_PREFIX + name.upper() in env:
            values[name] = env[ENV_PREFIX + name.upper()]
    coerced = {name: _coerce(name, raw, known[name].type) for name, raw in values.items()}
    cfg = StationConfig(**coerced)
    if cfg.language not in ("nl", "en"):
        raise ConfigError(f"language must be nl or en, got {cfg.language!r}")
    _check_printing(cfg)
    relative = [f for f in cfg.tool_path.split(":") if f and not Path(f).is_absolute()]
    if relative:
        raise ConfigError(f"tool_path: folders must be absolute, got {', '.join(relative)}")
    if not cfg.station_name:
        cfg = StationConfig(**{**coerced, "station_name": socket.gethostname()})
    return cfg
