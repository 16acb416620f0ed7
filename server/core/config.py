"""The server's settings: one typed object, from DIGIBANK_* variables and an optional TOML file.

Precedence: environment variables, then the file named by DIGIBANK_CONFIG_FILE (TOML, keys as
the field names below), then the defaults. A bad value stops start-up with a message naming
the setting (see `load_settings`).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    """Everything the hub server can be told; each field documents itself."""

    model_config = SettingsConfigDict(env_prefix="DIGIBANK_", extra="forbid")

    data_dir: Path = Field(
        Path("data"), description="Folder for the SQLite file, keys, broker state."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty = SQLite in data_dir. postgresql://... for production.",
    )
    secret_key: str = Field(
        "", description="Signs session cookies; empty = generated once and kept in data_dir."
    )
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    public_url: str = Field("", description="How agents reach the API; empty = http://host:port.")

    mqtt_host: str = Field("127.0.0.1", description="Broker the server (ingest) connects to.")
    mqtt_port: int = Field(1883, ge=1, le=65535, description="Broker port for the server.")
    mqtt_username: str = Field(
        "", description="Server's broker account; empty = the one `up` generated in data_dir."
    )
    mqtt_password: str = Field("", description="Its password; empty = from data_dir.")
    mqtt_device_host: str = Field("", description="Broker host given to enrolling devices.")
    mqtt_device_port: int = Field(
        0, ge=0, le=65535, description="Broker port for devices; 0 = mqtt_port."
    )
    mqtt_device_tls: bool = Field(False, description="Whether devices must use TLS.")
    ingest_enabled: bool = Field(True, description="Run MQTT ingest inside the API process.")
    ingest_batch_size: int = Field(200, ge=1, le=10000, description="Reports per commit.")
    ingest_batch_ms: int = Field(50, ge=1, le=10000, description="Longest wait before a commit.")
    ingest_client_id: str = Field(
        "digibank-ingest",
        description="MQTT client id; unique per ingest process, kept across restarts.",
    )
    ingest_group: str = Field(
        "ingest", pattern=r"^[A-Za-z0-9_-]{1,32}$", description="Shared-subscription group."
    )
    ingest_session_expiry_s: int = Field(
        7 * 24 * 3600,
        ge=0,
        description="How long the broker keeps ingest's queue while it is down.",
    )
    ingest_receive_maximum: int = Field(
        2000, ge=1, le=65535, description="Unacknowledged reports the broker may send at once."
    )
    scheduler_interval_s: int = Field(
        300, ge=1, description="How often the scheduled rules, presence and retention run."
    )

    token_ttl_hours: int = Field(12, ge=1, le=24 * 365, description="Lifetime of login tokens.")
    login_max_failures: int = Field(5, ge=1, description="Failed logins per window before refusal.")
    login_window_s: int = Field(300, ge=1, description="Window of the failed-login limit.")

    borrower_retention_days: int = Field(
        365, ge=0, description="Borrower reference erased this long after their last return."
    )
    health_retention_days: int = Field(
        90, ge=1, description="Raw health reports older than this are rolled up per day."
    )
    enrollment_code_ttl_minutes: int = Field(60, ge=1, description="Enrollment code lifetime.")
    reach_target_adults: int = Field(1000, ge=1, description="Adults each digibank must reach.")
    language: Literal["nl", "en"] = Field("nl", description="Default dashboard language.")

    # Flag rule thresholds (see server/rules.py).
    battery_warn_pct: float = Field(80.0, description="Battery health below this: warning.")
    battery_repair_pct: float = Field(60.0, description="Battery health below this: repair.")
    nvme_used_pct: int = Field(90, description="NVMe percentage used at or above this: repair.")
    disk_free_pct: float = Field(10.0, description="Free space below this: repair.")
    temperature_c: float = Field(90.0, description="Temperature at or above this twice: repair.")
    due_soon_days: int = Field(7, ge=0, description="Return flag this many days before due.")
    reminder_days_before_due: int = Field(3, ge=0, description="Agent reminder before due date.")
    silent_days: int = Field(14, ge=1, description="On loan and silent this long: possibly lost.")
    missing_days: int = Field(30, ge=1, description="Silent this long: missing.")
    presence_grace_s: int = Field(300, ge=0, description="Grace after an interval before silent.")
    autoresolve_reports: int = Field(3, ge=1, description="Good reports that close a repair flag.")

    @field_validator("database_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    # --- derived values -------------------------------------------------------------------

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver SQLAlchemy should use."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'digibank.db').resolve()}"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite one."""
        return self.sqlalchemy_url.startswith("sqlite")

    def session_secret(self) -> str:
        """The cookie-signing secret, generated into data_dir on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


class _TomlSource(PydanticBaseSettingsSource):
    """Values from the TOML file named by DIGIBANK_CONFIG_FILE, if any."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        name = os.environ.get("DIGIBANK_CONFIG_FILE")
        if not name:
            return {}
        try:
            with open(name, "rb") as fh:
                return tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"DIGIBANK_CONFIG_FILE={name}: {exc}") from None


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one message naming each setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "?"
            problems.append(f"DIGIBANK_{name.upper()}: {err['msg']}")
        raise SettingsError("bad setting: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
