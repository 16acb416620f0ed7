"""A device's history across sessions: from the server when it answers, else the station's own.

The server's device detail (GET /api/v1/devices/{id}) holds every job, condition
record and lifecycle event, whichever station made them. When the server cannot be
asked, the station shows what it holds itself (its signed certificates, its stored
results, what still waits in its outbox) and says the server was unreachable.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from station.errors import SyncError
from station.results import ResultStore

log = logging.getLogger(__name__)

# Where a history came from; the UI words these.
SERVER, LOCAL_UNREACHABLE, LOCAL_NOT_ON_SERVER, LOCAL_NO_SERVER = (
    "server",
    "local_unreachable",
    "local_not_on_server",
    "local_no_server",
)


@dataclass(frozen=True)
class HistoryEntry:
    """One thing that happened to the device: a job, a condition record, a state change."""

    at: str  # ISO 8601 (sorts as text)
    kind: str  # wipe | diagnostics | condition | event
    status: str  # passed/failed/incomplete; grades C/F/B; from -> to
    detail: str = ""  # method, technician, reason
    certificate: bool = False


@dataclass(frozen=True)
class DeviceHistory:
    """A device's history, newest first, and where it came from."""

    source: str
    entries: tuple[HistoryEntry, ...] = ()
    error: str = ""  # why the server could not be asked
    state: str = ""  # lifecycle state on the server
    asset_tag: str = ""  # asset tag on the server
    queued: int = 0  # records for this device still waiting in the outbox

    @property
    def from_server(self) -> bool:
        """True when the server answered."""
        return self.source == SERVER


def _newest_first(entries: list[HistoryEntry]) -> tuple[HistoryEntry, ...]:
    return tuple(sorted(entries, key=lambda e: e.at, reverse=True))


def from_server(detail: dict[str, Any]) -> DeviceHistory:
    """The history in a server device detail (jobs, condition records, lifecycle events)."""
    entries = [
        HistoryEntry(
            str(job.get("ended_at") or job.get("started_at") or ""),
            str(job.get("kind", "?")),
            str(job.get("status", "?")),
            " ".join(x for x in (job.get("method") or "", job.get("station") or "") if x),
            certificate=bool(job.get("certificate")),
        )
        for job in detail.get("jobs", [])
    ]
    entries += [
        HistoryEntry(
            str(c.get("recorded_at", "")),
            "condition",
            f"{c.get('cosmetic_grade')}/{c.get('functional_grade')}/"
            f"{c.get('battery_grade') or '?'}",
            str(c.get("technician") or ""),
        )
        for c in detail.get("conditions", [])
    ]
    entries += [
        HistoryEntry(
            str(e.get("at", "")),
            "event",
            f"{e.get('from_state') or '-'} → {e.get('to_state') or '-'}",
            str(e.get("reason") or ""),
        )
        for e in detail.get("events", [])
        if e.get("to_state")
    ]
    return DeviceHistory(
        SERVER,
        _newest_first(entries),
        state=str(detail.get("state") or ""),
        asset_tag=str(detail.get("asset_tag") or ""),
    )


def _certificates(directory: Path, refs: set[str]) -> list[HistoryEntry]:
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))["certificate"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a certificate: the certificates view says so, not the history
        media, san = body.get("media", {}), body.get("sanitization", {})
        if refs & {media.get("serial_number"), media.get("property_number")} - {"", None}:
            found.append(
                HistoryEntry(
                    str(san.get("ended_at", "")),
                    "wipe",
                    str(body.get("status", "?")),
                    f"{san.get('category', '')} {san.get('method', '')}".strip(),
                    certificate=True,
                )
            )
    return found


def _kept_at(path: Path) -> str:
    """The UTC time a result was kept (its file name starts with it)."""
    try:
        kept = datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ")
    except ValueError:
        return ""
    return kept.replace(tzinfo=UTC).isoformat(timespec="seconds")


def _results(store: ResultStore, refs: set[str]) -> list[HistoryEntry]:
    found = []
    for kind in ("diagnostics", "grade"):
        for path in store.list(kind):
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if stored.get("subject") not in refs:
                continue
            result = stored.get("result", {})
            at = _kept_at(path)
            if kind == "grade":
                status = (
                    f"{result.get('cosmetic_grade')}/{result.get('functional_grade')}/"
                    f"{result.get('battery_grade')}"
                )
                found.append(HistoryEntry(at, "condition", status, result.get("technician", "")))
            else:
                found.append(HistoryEntry(at, "diagnostics", str(result.get("status", "?"))))
    return found


def _queued(queue_dir: Path, refs: set[str]) -> int:
    count = 0
    for path in queue_dir.glob("*.json"):
        try:
            if json.loads(path.read_text(encoding="utf-8")).get("ref") in refs:
                count += 1
        except (OSError, ValueError):
            continue
    return count


def local_history(station: Any, refs: set[str], source: str, error: str = "") -> DeviceHistory:
    """What this station holds about the device (matched by serial or asset tag)."""
    refs = {r for r in refs if r}
    entries = _certificates(station.cfg.certificate_dir, refs) + _results(station.results, refs)
    return DeviceHistory(
        source, _newest_first(entries), error=error, queued=_queued(station.cfg.queue_dir, refs)
    )


def load_history(station: Any, serial: str, asset_tag: str = "") -> DeviceHistory:
    """The device's history from the server; the station's own when the server cannot say."""
    refs = {serial, asset_tag}
    sync = getattr(station, "sync", None)
    if sync is None:
        return local_history(station, refs, LOCAL_NO_SERVER)
    try:
        detail = sync.device_detail(asset_tag or serial)
    except (httpx.HTTPError, SyncError, OSError, ValueError) as exc:
        log.info("history of %s from the server failed: %s", serial or asset_tag, exc)
        return local_history(station, refs, LOCAL_UNREACHABLE, str(exc) or type(exc).__name__)
    if detail is None:
        return local_history(station, refs, LOCAL_NOT_ON_SERVER)
    history = from_server(detail)
    queued = _queued(station.cfg.queue_dir, refs | {history.asset_tag} - {""})
    return replace(history, queued=queued)
