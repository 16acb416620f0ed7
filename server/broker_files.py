"""The broker's run-time files: rendered config, dynamic-security JSON and account secrets.

The templates live in `broker_config/`; this module fills them for one data folder.
Account passwords are generated once and kept in `DATA_DIR/broker-credentials.json`
(mode 0600, outside the folder the broker itself may write).
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import logging
import os
import pwd
import secrets
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

log = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "broker_config"
CONF_TEMPLATE = CONFIG_DIR / "mosquitto.conf.template"
DYNSEC_BOOTSTRAP = CONFIG_DIR / "dynsec-bootstrap.json"
CREDENTIALS_FILE = "broker-credentials.json"
PLUGIN_GLOBS = (
    "/usr/lib/*/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/*/mosquitto_dynamic_security.so",
)
BROKER_USER = "mosquitto"
# Mosquitto's own choice for the accounts it creates (PW_DEFAULT_ITERATIONS); the
# passwords are 32 random bytes, so the low count costs nothing in strength.
PBKDF2_ITERATIONS = 101
ADMIN_USERNAME = "digibank-admin"
SERVER_USERNAME = "digibank-server"


class BrokerError(Exception):
    """The broker could not be set up, started or managed; the message says why."""


class PortInUse(BrokerError):
    """A port the broker should listen on is taken; the caller may pick another."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is already in use; choose another (free_port() finds one)")
        self.port = port


@dataclass(frozen=True)
class BrokerAccount:
    """An MQTT username and password."""

    username: str
    password: str


@dataclass(frozen=True)
class BrokerCredentials:
    """The broker's two built-in accounts: dynsec admin and the server (ingest, commands)."""

    admin: BrokerAccount
    server: BrokerAccount


def credentials_path(data_dir: Path) -> Path:
    """Where the admin and server passwords are kept for this data folder."""
    return data_dir / CREDENTIALS_FILE


def load_credentials(path: Path) -> BrokerCredentials:
    """Read the stored accounts; BrokerError if missing or malformed."""
    try:
        data = json.loads(path.read_text())
        return BrokerCredentials(
            admin=BrokerAccount(**data["admin"]), server=BrokerAccount(**data["server"])
        )
    except FileNotFoundError:
        raise BrokerError(f"{path}: no broker credentials (start the broker once)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BrokerError(f"{path}: unreadable broker credentials ({exc})") from None


def ensure_credentials(data_dir: Path) -> BrokerCredentials:
    """The stored accounts, generated (0600) on first use."""
    path = credentials_path(data_dir)
    if path.exists():
        return load_credentials(path)
    creds = BrokerCredentials(
        admin=BrokerAccount(ADMIN_USERNAME, secrets.token_urlsafe(32)),
        server=BrokerAccount(SERVER_USERNAME, secrets.token_urlsafe(32)),
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"admin": vars(creds.admin), "server": vars(creds.server)}, fh)
    return creds


def dynsec_plugin() -> str:
    """Path of Mosquitto's dynamic security plugin; BrokerError if not installed."""
    for pattern in PLUGIN_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise BrokerError(
        "mosquitto_dynamic_security.so not found (install the mosquitto package, 2.0 or later)"
    )


def password_entry(password: str) -> dict[str, Any]:
    """A dynsec client's password fields: salted PBKDF2-SHA512 as the plugin stores it."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": PBKDF2_ITERATIONS,
    }


def write_dynsec(path: Path, creds: BrokerCredentials) -> None:
    """Create or refresh the dynsec JSON: bootstrap roles and the two built-in accounts.

    Device clients and roles already in the file (created at run time) are kept; the
    built-in roles and accounts are rewritten so a changed template or a lost
    credentials file takes effect at the next start.
    """
    boot = json.loads(DYNSEC_BOOTSTRAP.read_text())
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except ValueError as exc:
            raise BrokerError(f"{path}: corrupt dynamic-security file ({exc})") from None
    else:
        current = {"clients": [], "roles": [], "groups": []}
    builtin_roles = {r["rolename"] for r in boot["roles"]}
    builtin_users = {creds.admin.username, creds.server.username}
    roles = [r for r in current.get("roles", []) if r.get("rolename") not in builtin_roles]
    clients = [c for c in current.get("clients", []) if c.get("username") not in builtin_users]
    for account, role in ((creds.admin, "admin"), (creds.server, "server")):
        clients.append(
            {
                "username": account.username,
                "textname": f"digibank {role}",
                "roles": [{"rolename": role}],
                **password_entry(account.password),
            }
        )
    out = {
        "defaultACLAccess": boot["defaultACLAccess"],
        "roles": boot["roles"] + roles,
        "clients": clients,
        "groups": current.get("groups", []),
    }
    path.write_text(json.dumps(out, indent=2))
    os.chmod(path, 0o600)


def render_config(
    *,
    port: int,
    host: str,
    runtime_dir: Path,
    device_port: int | None,
    device_bind: str,
    tls_lines: list[str],
    run_as: str | None,
) -> str:
    """The mosquitto.conf text for these listeners and this runtime folder."""
    device: list[str] = []
    if device_port is not None:
        device = [
            "# Devices (borrowers' laptops) connect here.",
            f"listener {device_port} {device_bind}".rstrip(),
            *tls_lines,
        ]
    elif tls_lines:
        raise BrokerError("TLS needs a separate device listener (give a device port)")
    values = {
        "dynsec_plugin": dynsec_plugin(),
        "dynsec_file": str(runtime_dir / "dynamic-security.json"),
        "user_line": f"user {run_as}" if run_as else "",
        "persistence_dir": str(runtime_dir / "persistence"),
        "log_file": str(runtime_dir / "mosquitto.log"),
        "port": str(port),
        "host": host,
        "device_listener": "\n".join(device),
    }
    try:
        return Template(CONF_TEMPLATE.read_text()).substitute(values)
    except (KeyError, ValueError) as exc:
        raise BrokerError(f"{CONF_TEMPLATE}: bad template ({exc})") from None


def broker_user() -> tuple[int, int] | None:
    """(uid, gid) Mosquitto drops to when started as root; None if it will not drop."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(BROKER_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def hand_over(runtime_dir: Path, owner: tuple[int, int] | None) -> None:
    """Give the runtime folder to the broker's user, so its run-time changes persist.

    The dynsec plugin writes its JSON at every change and the broker saves its
    persistence file there; as another user those writes fail and changes would live
    only in memory.
    """
    if owner is None:
        return
    uid, gid = owner
    for root, dirs, files in os.walk(runtime_dir):
        os.chown(root, uid, gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
    _check_reachable(runtime_dir, uid, gid)


def blocking_parent(folder: Path, uid: int, gid: int) -> Path | None:
    """The first parent folder that user uid/gid cannot enter on the way to `folder`, if any."""
    for parent in folder.resolve().parents:
        st = parent.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            return parent
    return None


def _check_reachable(folder: Path, uid: int, gid: int) -> None:
    """BrokerError if a parent folder stops the broker's user from reaching `folder`."""
    parent = blocking_parent(folder, uid, gid)
    if parent is not None:
        raise BrokerError(
            f"the broker runs as user {BROKER_USER!r} and cannot enter {parent}; "
            f"allow it (chmod o+x {parent}) or put the data folder elsewhere"
        )
