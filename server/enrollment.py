"""Enrollment: one-time codes a device trades for its own MQTT account, and revocation.

A code is random, shown once, stored as its SHA-256 and expires after
`enrollment_code_ttl_minutes`. Trading it creates the device's broker account through
the dynsec plugin (`server/dynsec.py`) and marks the code used in the same transaction,
so a code works exactly once even when two agents race with it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from server.broker_files import BrokerAccount, BrokerError, credentials_path, load_credentials
from server.broker_tls import tls_files
from server.core.config import Settings
from server.core.db import writing
from server.dynsec import DynsecClient
from server.errors import Conflict, DigibankError, TooManyAttempts
from server.models import Device, DeviceCredential, DeviceEvent, EnrollmentCode
from server.security import check_login_allowed, record_login_failure
from server.timeutil import utcnow

log = logging.getLogger(__name__)

# No 0/O, 1/I: codes are read off a screen or label and typed on the laptop.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LEN = 3, 4  # 12 characters of 32 = 60 bits
MAX_CODE_CHARS = 64
# All devices at a digipunt share one public address, so allow more than for logins.
ENROLL_MAX_FAILURES = 20
ENROLL_WINDOW_S = 600


class EnrollmentRefused(DigibankError):
    """The code is unknown, used or expired (403)."""

    status_code = 403


class BrokerUnavailable(DigibankError):
    """The broker could not create or revoke an account right now (503)."""

    status_code = 503


@dataclass(frozen=True)
class NewCode:
    """A fresh enrollment code (shown once) and when it stops working."""

    device_id: int
    code: str
    expires_at: datetime


@dataclass(frozen=True)
class Enrollment:
    """What an agent receives for its code: where the broker is and its own account.

    `device_id` is the MQTT device id, str(Device.id), as it appears in the topics.
    """

    device_id: str
    mqtt_host: str
    mqtt_port: int
    mqtt_tls: bool
    mqtt_username: str
    mqtt_password: str
    mqtt_client_id: str
    ca_cert: str | None


@dataclass(frozen=True)
class BrokerLink:
    """How the server manages device accounts, and where devices are sent."""

    host: str
    port: int
    admin: BrokerAccount
    device_host: str
    device_port: int
    device_tls: bool
    ca_cert: str | None

    def admin_client(self) -> DynsecClient:
        """A dynsec client logged in as the admin account (use it with `with`)."""
        return DynsecClient(self.host, self.port, self.admin)


def broker_link(settings: Settings) -> BrokerLink:
    """The broker link for these settings; admin account from DATA_DIR/broker-credentials.json."""
    try:
        creds = load_credentials(credentials_path(settings.data_dir))
    except BrokerError as exc:
        raise BrokerUnavailable(str(exc)) from None
    device_host = (
        settings.mqtt_device_host
        or (urlsplit(settings.public_url).hostname if settings.public_url else None)
        or settings.mqtt_host
    )
    ca_cert = None
    if settings.mqtt_device_tls:
        cafile = tls_files(settings.data_dir / "broker" / "tls").cafile
        # A certificate from a public CA needs nothing from us: the agent trusts the system's.
        ca_cert = cafile.read_text() if cafile.exists() else None
    return BrokerLink(
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        admin=creds.admin,
        device_host=device_host,
        device_port=settings.mqtt_device_port or settings.mqtt_port,
        device_tls=settings.mqtt_device_tls,
        ca_cert=ca_cert,
    )


def normalize_code(code: str) -> str:
    """The code as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def hash_code(code: str) -> str:
    """SHA-256 of the normalized code (60 random bits and one use: no salt needed)."""
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def new_code_text() -> str:
    """A random code like `K7QM-3XTA-WP9C`."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LEN))
    return "-".join(chars[i : i + GROUP_LEN] for i in range(0, len(chars), GROUP_LEN))


def create_code(session: Session, device: Device, *, actor: str, ttl_minutes: int) -> NewCode:
    """A new one-time code for `device`; earlier unused codes of it stop working."""
    if device.state == "retired":
        raise Conflict(f"device {device.id} is retired: it cannot be enrolled")
    now = utcnow()
    session.execute(
        delete(EnrollmentCode).where(
            EnrollmentCode.device_id == device.id, EnrollmentCode.used_at.is_(None)
        )
    )
    code = new_code_text()
    expires = now + timedelta(minutes=ttl_minutes)
    session.add(
        EnrollmentCode(
            device_id=device.id,
            code_hash=hash_code(code),
            created_by=actor,
            created_at=now,
            expires_at=expires,
        )
    )
    session.add(
        DeviceEvent(
            device_id=device.id,
            at=now,
            actor=actor,
            kind="enrollment_code",
            reason=f"enrollment code created, valid until {expires:%Y-%m-%d %H:%M} UTC",
        )
    )
    return NewCode(device_id=device.id, code=code, expires_at=expires)


def redeem_code(session: Session, code: str, link: BrokerLink, *, address: str) -> Enrollment:
    """Trade a code for the device's broker account; the caller commits."""
    writing(session)  # SQLite: take the write lock first, so racing trades queue, not fail
    keys = [f"enroll:{address}"]
    try:
        check_login_allowed(session, keys, ENROLL_MAX_FAILURES, ENROLL_WINDOW_S)
    except TooManyAttempts:
        raise TooManyAttempts(
            "too many wrong enrollment codes from this address; "
            f"try again in {ENROLL_WINDOW_S // 60} min"
        ) from None
    row = None
    if 0 < len(code) <= MAX_CODE_CHARS:
        row = session.scalar(
            select(EnrollmentCode).where(EnrollmentCode.code_hash == hash_code(code))
        )
    now = utcnow()
    problem = _code_problem(row, now)
    if problem or row is None:
        record_login_failure(session, keys, ENROLL_WINDOW_S)
        session.commit()
        raise EnrollmentRefused(problem or "unknown enrollment code")
    # Only one trade wins, whatever the races: the update is conditional on `used_at`.
    won = session.execute(
        update(EnrollmentCode)
        .where(EnrollmentCode.id == row.id, EnrollmentCode.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(won, "rowcount", 0) != 1:
        raise EnrollmentRefused("this enrollment code was already used; create a new one")
    device = session.get(Device, row.device_id)
    if device is None or device.state == "retired":
        raise Conflict("the device of this code is retired or gone: it cannot be enrolled")
    password = secrets.token_urlsafe(32)
    try:
        with link.admin_client() as admin:
            account = admin.provision_device(str(device.id), password)
    except (BrokerError, OSError) as exc:  # the code stays unused: the caller rolls back
        log.warning("enrollment of device %s failed at the broker: %s", device.id, exc)
        raise BrokerUnavailable(f"the broker cannot create the account now ({exc})") from None
    _record_credential(session, device, account.username, now)
    session.add(
        DeviceEvent(
            device_id=device.id,
            at=now,
            # Not the address: the audit trail keeps nothing about where a borrower is.
            actor=f"agent (code by {row.created_by})",
            kind="enrolled",
            reason=f"MQTT account {account.username} issued",
        )
    )
    return Enrollment(
        device_id=str(device.id),
        mqtt_host=link.device_host,
        mqtt_port=link.device_port,
        mqtt_tls=link.device_tls,
        mqtt_username=account.username,
        mqtt_password=password,
        mqtt_client_id=account.client_id,
        ca_cert=link.ca_cert,
    )


def _code_problem(row: EnrollmentCode | None, now: datetime) -> str | None:
    """Why this code cannot be traded, or None if it can."""
    if row is None:
        return "unknown enrollment code"
    if row.used_at is not None:
        return "this enrollment code was already used; create a new one"
    if row.expires_at <= now:
        return "this enrollment code has expired; create a new one"
    return None


def _record_credential(session: Session, device: Device, username: str, now: datetime) -> None:
    """One credential row per MQTT username: re-enrollment re-issues it."""
    cred = session.scalar(
        select(DeviceCredential).where(DeviceCredential.mqtt_username == username)
    )
    if cred is None:
        session.add(DeviceCredential(device_id=device.id, mqtt_username=username, issued_at=now))
    else:
        cred.device_id = device.id
        cred.issued_at = now
        cred.revoked_at = None


def has_live_credentials(session: Session, device: Device) -> bool:
    """Whether the device holds a broker account that was not revoked."""
    return (
        session.scalar(
            select(DeviceCredential.id).where(
                DeviceCredential.device_id == device.id, DeviceCredential.revoked_at.is_(None)
            )
        )
        is not None
    )


def revoke_device(
    session: Session,
    device: Device,
    broker_admin: DynsecClient | None,
    *,
    actor: str = "system",
    reason: str = "credentials revoked",
) -> bool:
    """Delete the device's broker account (dropping its connection) and unused codes.

    Returns whether there was an account to revoke. Without live credentials the broker
    is not contacted (`broker_admin` may then be None). The caller commits; on a broker
    error nothing is changed here, so the caller can refuse and retry.
    """
    now = utcnow()
    session.execute(
        delete(EnrollmentCode).where(
            EnrollmentCode.device_id == device.id, EnrollmentCode.used_at.is_(None)
        )
    )
    if not has_live_credentials(session, device):
        return False
    if broker_admin is None:
        raise BrokerUnavailable("the broker is needed to revoke this device's account")
    try:
        broker_admin.delete_device(str(device.id))
    except (BrokerError, OSError) as exc:  # the account is still there: say so
        raise BrokerUnavailable(f"the broker cannot revoke the account now ({exc})") from None
    session.execute(
        update(DeviceCredential)
        .where(DeviceCredential.device_id == device.id, DeviceCredential.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.add(
        DeviceEvent(
            device_id=device.id, at=now, actor=actor, kind="credentials_revoked", reason=reason
        )
    )
    log.info("device %s: broker account revoked by %s", device.id, actor)
    return True


def revoke_with_settings(
    session: Session, device: Device, settings: Settings, *, actor: str, reason: str
) -> bool:
    """`revoke_device`, connecting to the broker only if the device has an account."""
    if not has_live_credentials(session, device):
        return revoke_device(session, device, None, actor=actor, reason=reason)
    link = broker_link(settings)
    try:
        with link.admin_client() as admin:
            return revoke_device(session, device, admin, actor=actor, reason=reason)
    except (BrokerError, OSError) as exc:  # connection refused, login failed, timeout
        raise BrokerUnavailable(f"the broker cannot revoke the account now ({exc})") from None
