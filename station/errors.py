"""The station's small exception hierarchy: specific inside, shown to the technician at the edge."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from station.reasons import Reason


class StationError(Exception):
    """Base of every error the station reports to the technician; ``reason``: its code, if any."""

    def __init__(self, message: str | Reason) -> None:
        super().__init__(str(message))
        self.reason = message if not isinstance(message, str) else None


class ToolError(StationError):
    """An external tool is missing, timed out or could not be run."""


class RecordingMissing(ToolError):
    """A replayed command has no recorded output (tests and demos only)."""


class ParseError(StationError):
    """A tool's output could not be understood."""


class DeviceError(StationError):
    """A block device or tablet could not be found or read."""


class SafetyRefusal(StationError):
    """The station refuses to touch a device; ``refusals`` says why (``reasons`` in English)."""

    def __init__(self, refusals: list[Reason]) -> None:
        super().__init__("; ".join(map(str, refusals)))
        self.refusals = list(refusals)
        self.reasons = [str(r) for r in refusals]


class WipeError(StationError):
    """A wipe could not be started (unsupported method, open failure...)."""


class CertificateError(StationError):
    """A certificate is malformed, tampered with, or signed by an unknown key."""


class ConfigError(StationError):
    """The station's settings are invalid."""


class SyncError(StationError):
    """The server refused a record (not a transient network failure)."""
