"""The hub's data model (SQLAlchemy 2.0, typed). Constraints carry what must always hold."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from server.core.sqltypes import BigId, UTCDateTime
from server.timeutil import utcnow


class Base(DeclarativeBase):
    """Base of all tables; JSON columns map dicts."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON(none_as_null=True),
        datetime: UTCDateTime,
    }


# --- region ---------------------------------------------------------------------------------


class Digibank(Base):
    __tablename__ = "digibanks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Municipality(Base):
    __tablename__ = "municipalities"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    nis_code: Mapped[str | None] = mapped_column(String(8))
    digibank_id: Mapped[int] = mapped_column(ForeignKey("digibanks.id"))
    digibank: Mapped[Digibank] = relationship(lazy="joined")


class Location(Base):
    """The hub, or one distribution point (digipunt) in a municipality."""

    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("kind IN ('hub', 'digipunt')", name="location_kind"),
        CheckConstraint(
            "kind = 'hub' OR municipality_id IS NOT NULL", name="digipunt_municipality"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128), unique=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    address: Mapped[str | None] = mapped_column(String(256))
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")


# --- people and access ----------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('manager', 'technician')", name="user_role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token, stored as its SHA-256; login tokens belong to a user, station tokens not."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("role IN ('manager', 'technician', 'station')", name="token_role"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LoginFailure(Base):
    """One failed login, for the per-account and per-address limit (shared by all processes)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class StationKey(Base):
    """A refurbishment station's Ed25519 public key, published for offline verification."""

    __tablename__ = "station_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    public_key_pem: Mapped[str] = mapped_column(Text)
    registered_by: Mapped[str] = mapped_column(String(128))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- devices ----------------------------------------------------------------------------------


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint("kind IN ('laptop', 'tablet')", name="device_kind"),
        CheckConstraint(
            "state IN ('intake', 'refurbishing', 'repair', 'ready', 'on_loan', 'returned',"
            " 'retired')",
            name="device_state",
        ),
        Index("ix_devices_state_location", "state", "location_id"),
        # Not last_seen_at: every report moves it (migration 0008).
        Index("ix_devices_state_interval", "state", "report_interval_s"),
        {"postgresql_with": {"fillfactor": 80}},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_tag: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    make: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128), index=True)
    serial: Mapped[str | None] = mapped_column(String(128), index=True)
    cpu: Mapped[str | None] = mapped_column(String(128))
    ram_gb: Mapped[float | None] = mapped_column(Float)
    storage_gb: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="intake", index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    grade: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    intake_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()
    # The device's latest report is health_reports (id, last_report_seq), not a copy here:
    # every report moves it (migration 0009).
    last_report_seq: Mapped[int | None] = mapped_column(BigInteger)
    report_interval_s: Mapped[int] = mapped_column(Integer, default=900)
    location: Mapped[Location] = relationship(lazy="joined")


class DeviceEvent(Base):
    """Audit trail: every transition (and other notable change) with who, when and why."""

    __tablename__ = "device_events"
    __table_args__ = (Index("ix_device_events_device_at", "device_id", "at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), default="transition")
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class ConditionRecord(Base):
    __tablename__ = "condition_records"
    __table_args__ = (
        CheckConstraint("cosmetic_grade IN ('A','B','C','D','E')", name="cosmetic_grade"),
        CheckConstraint("functional_grade IN ('A','B','C','D')", name="functional_grade"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    cosmetic_grade: Mapped[str] = mapped_column(String(1))
    functional_grade: Mapped[str] = mapped_column(String(1))
    battery_grade: Mapped[str | None] = mapped_column(String(8))
    battery_health_pct: Mapped[float | None] = mapped_column(Float)
    checklist: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    technician: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobResult(Base):
    """A wipe or diagnostics run reported by a station, with its certificate for wipes."""

    __tablename__ = "job_results"
    __table_args__ = (
        CheckConstraint("kind IN ('wipe', 'diagnostics')", name="job_kind"),
        CheckConstraint("status IN ('passed', 'failed', 'incomplete')", name="job_status"),
        Index("ix_job_results_device_kind", "device_id", "kind", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    method: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    certificate: Mapped[dict[str, Any] | None]
    station: Mapped[str | None] = mapped_column(String(128))
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class DestructionRecord(Base):
    """Physical destruction of a device's storage (the other way to retire it)."""

    __tablename__ = "destruction_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(128))
    performed_by: Mapped[str] = mapped_column(String(128))
    reference: Mapped[str | None] = mapped_column(String(256))
    destroyed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- loans ------------------------------------------------------------------------------------


class Borrower(Base):
    """A pseudonymous borrower: a reference only (erased after retention), adult or not."""

    __tablename__ = "borrowers"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    adult: Mapped[bool] = mapped_column(Boolean)
    digibank_id: Mapped[int] = mapped_column(ForeignKey("digibanks.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_return_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]


class Loan(Base):
    __tablename__ = "loans"
    __table_args__ = (
        # One active loan per device, whatever the races.
        Index(
            "uq_loans_one_active",
            "device_id",
            unique=True,
            sqlite_where=text("returned_at IS NULL"),
            postgresql_where=text("returned_at IS NULL"),
        ),
        Index("ix_loans_active_due", "returned_at", "due_date"),
        Index("ix_loans_location_borrower_started", "location_id", "borrower_id", "started_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_date: Mapped[date] = mapped_column(Date)
    extended_count: Mapped[int] = mapped_column(Integer, default=0)
    returned_at: Mapped[datetime | None]
    return_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    return_condition: Mapped[str | None] = mapped_column(Text)
    reminded_at: Mapped[datetime | None]
    device: Mapped[Device] = relationship(lazy="joined")
    borrower: Mapped[Borrower] = relationship(lazy="joined")
    location: Mapped[Location] = relationship(foreign_keys=[location_id], lazy="joined")


class ReachFact(Base):
    """A borrower reached in a municipality (kept up to date at lending), so reach is a count."""

    __tablename__ = "reach_facts"
    __table_args__ = (
        Index("ix_reach_facts_adult_muni", "adult", "municipality_id", "borrower_id"),
        Index("ix_reach_facts_adult_bank", "adult", "digibank_id", "borrower_id"),
    )
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), primary_key=True)
    digibank_id: Mapped[int] = mapped_column(ForeignKey("digibanks.id"))
    adult: Mapped[bool] = mapped_column(Boolean)
    first_loan_at: Mapped[datetime]


# --- telemetry ----------------------------------------------------------------------------------


class HealthReportRow(Base):
    """One stored health report; (device, seq) is unique so redelivery changes nothing."""

    __tablename__ = "health_reports"
    __table_args__ = (
        UniqueConstraint("device_id", "seq", name="uq_health_reports_device_seq"),
        Index("ix_health_reports_device_measured", "device_id", "measured_at"),
        Index("ix_health_reports_measured", "measured_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    measured_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]]


class HealthDaily(Base):
    """Daily roll-up of a device's reports once the raw ones pass retention."""

    __tablename__ = "health_daily"
    __table_args__ = (UniqueConstraint("device_id", "day", name="uq_health_daily_device_day"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    reports: Mapped[int] = mapped_column(Integer)
    battery_health_pct: Mapped[float | None] = mapped_column(Float)
    battery_charge_min: Mapped[float | None] = mapped_column(Float)
    disk_free_pct_min: Mapped[float | None] = mapped_column(Float)
    disk_wear_pct_max: Mapped[float | None] = mapped_column(Float)
    temperature_max: Mapped[float | None] = mapped_column(Float)


class Flag(Base):
    """A repair or return flag raised by a rule, with its evidence and its life."""

    __tablename__ = "flags"
    __table_args__ = (
        CheckConstraint("kind IN ('repair', 'return')", name="flag_kind"),
        CheckConstraint("status IN ('open', 'acknowledged', 'resolved')", name="flag_status"),
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="flag_severity"),
        # One unresolved flag per device and reason.
        Index(
            "uq_flags_one_unresolved",
            "device_id",
            "reason",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_flags_status_kind", "status", "kind"),
        Index("ix_flags_status_reason", "status", "reason"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    clear_streak: Mapped[int] = mapped_column(Integer, default=0)
    device: Mapped[Device] = relationship(lazy="joined")


class EnrollmentCode(Base):
    """A one-time code an agent trades for its MQTT credentials; stored hashed."""

    __tablename__ = "enrollment_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DeviceCredential(Base):
    """The MQTT account issued to a device (the password lives only in the broker and agent)."""

    __tablename__ = "device_credentials"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    mqtt_username: Mapped[str] = mapped_column(String(128), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class IngestCounter(Base):
    """Counts kept by ingest (stored, dropped per reason), summed over all ingest processes."""

    __tablename__ = "ingest_counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
