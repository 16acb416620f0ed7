"""Messages other threads post to the app: hardware events, job changes, facts found later."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from station.hw.udev import StationEvent
from station.jobs import JobSnapshot


class DeviceEvent(Message):
    """A hardware event from the detection worker."""

    def __init__(self, event: StationEvent) -> None:
        super().__init__()
        self.event = event


class JobChanged(Message):
    """A job's new state or progress, from its thread."""

    def __init__(self, snapshot: JobSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class DeviceFacts(Message):
    """Facts about a device found off the UI thread (serial, SMART verdict, asset tag)."""

    def __init__(self, key: str, **facts: Any) -> None:
        super().__init__()
        self.key = key
        self.facts = facts


class LogLine(Message):
    """A line for the job log from a worker."""

    def __init__(self, line: str, warn: bool = False) -> None:
        super().__init__()
        self.line = line
        self.warn = warn
