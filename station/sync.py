"""Server sync: results go into an ordered on-disk queue first, then to the server API in order.

Nothing waits for the network: when the server is unreachable the station keeps
working and the queue is sent, oldest first, once it answers again. A record the
server rejects (4xx) is set aside with the answer instead of blocking the rest.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from station.errors import SyncError

log = logging.getLogger(__name__)

API = "/api/v1"


class Outbox:
    """An ordered queue of operations, one JSON file each, named by a growing sequence number."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.rejected_dir = directory / "rejected"
        self._lock = threading.Lock()

    def _next_seq(self) -> int:
        numbers = [int(p.stem) for p in self.directory.glob("*.json") if p.stem.isdigit()]
        return max(numbers, default=0) + 1

    def put(self, op: dict[str, Any]) -> Path:
        """Append an operation durably (write aside, fsync, then link into the next free number)."""
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f".{os.getpid()}.{threading.get_ident()}.tmp"
            seq = self._next_seq()
            while True:
                record = {
                    "seq": seq,
                    "queued_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    **op,
                }
                with open(tmp, "w", encoding="utf-8") as fh:
                    json.dump(record, fh, ensure_ascii=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                path = self.directory / f"{seq:012d}.json"
                try:
                    # link() never overwrites: another process (CLI beside the TUI) may
                    # have taken this number a moment ago; then take the next one.
                    os.link(tmp, path)
                    return path
                except FileExistsError:
                    seq += 1
                finally:
                    tmp.unlink(missing_ok=True)

    def pending(self) -> list[Path]:
        """Queued operations, oldest first."""
        return sorted(p for p in self.directory.glob("*.json") if p.stem.isdigit())

    def done(self, path: Path) -> None:
        """Remove a sent operation."""
        path.unlink(missing_ok=True)

    def reject(self, path: Path, answer: str) -> None:
        """Set aside an operation the server refused, with its answer."""
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        record = json.loads(path.read_text(encoding="utf-8"))
        record["rejected_with"] = answer
        (self.rejected_dir / path.name).write_text(json.dumps(record, ensure_ascii=False))
        path.unlink()


@dataclass(frozen=True)
class FlushResult:
    """What one pass over the queue achieved."""

    sent: int
    rejected: int
    remaining: int
    error: str = ""


class ServerSync:
    """Queues station results and sends them to the server with the station's bearer token."""

    def __init__(
        self,
        server_url: str,
        token: str,
        outbox: Outbox,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.outbox = outbox
        self._client = httpx.Client(
            base_url=server_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )
        self._ids: dict[str, str] = {}
        self._flush_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    # -- queueing: never touches the network ------------------------------------------
    def intake(self, kind: str, make: str, model: str, serial: str, specs: dict[str, Any]) -> Path:
        """Queue a device intake (POST /devices)."""
        body = {"kind": kind, "make": make, "model": model, "serial": serial, "specs": specs}
        return self.outbox.put({"op": "intake", "ref": serial, "body": body})

    def job(self, ref: str, body: dict[str, Any]) -> Path:
        """Queue a job result (wipe/diagnostics) for the device found by ``ref`` (serial or tag)."""
        return self.outbox.put({"op": "jobs", "ref": ref, "body": body})

    def condition(self, ref: str, body: dict[str, Any]) -> Path:
        """Queue a condition record (grades and checklist)."""
        return self.outbox.put({"op": "conditions", "ref": ref, "body": body})

    def transition(self, ref: str, to: str, reason: str) -> Path:
        """Queue a lifecycle transition request."""
        return self.outbox.put(
            {"op": "transition", "ref": ref, "body": {"to": to, "reason": reason}}
        )

    def publish_key(self, public_key_pem: str, name: str) -> Path:
        """Queue publishing this station's public key, so anyone can verify its certificates."""
        body = {"public_key_pem": public_key_pem, "name": name}
        return self.outbox.put({"op": "station_key", "ref": "", "body": body})

    # -- sending -----------------------------------------------------------------------
    def lookup(self, ref: str) -> dict[str, Any] | None:
        """Find a device on the server by serial or asset tag (None if unknown)."""
        res = self._client.get(f"{API}/devices", params={"q": ref})
        self._raise_for(res)
        for item in res.json().get("items", []):
            if ref in (item.get("serial"), item.get("asset_tag")):
                return dict(item)
        return None

    def device_detail(self, ref: str) -> dict[str, Any] | None:
        """One device with its history (jobs, conditions, events), or None if unknown."""
        found = self.lookup(ref)
        if found is None:
            return None
        self._ids[ref] = str(found["id"])
        res = self._client.get(f"{API}/devices/{found['id']}")
        self._raise_for(res)
        return dict(res.json())

    def _device_id(self, ref: str) -> str:
        if ref not in self._ids:
            found = self.lookup(ref)
            if found is None:
                raise SyncError(f"device {ref!r} is unknown on the server: intake it first")
            self._ids[ref] = str(found["id"])
        return self._ids[ref]

    @staticmethod
    def _raise_for(res: httpx.Response) -> None:
        # Auth, throttling and server errors are the station's or the server's state, not
        # the record's fault: keep the record and retry later.
        if res.status_code >= 500 or res.status_code in (401, 403, 408, 429):
            raise httpx.HTTPStatusError(
                f"server error {res.status_code}", request=res.request, response=res
            )
        if res.status_code >= 400:
            raise SyncError(f"{res.status_code}: {res.text[:300]}")

    def _send(self, op: dict[str, Any]) -> None:
        kind, ref, body = op["op"], op["ref"], op["body"]
        if kind == "station_key":
            self._raise_for(self._client.post(f"{API}/stations/keys", json=body))
            return
        if kind == "intake":
            res = self._client.post(f"{API}/devices", json=body)
            if res.status_code == 409:
                return  # already known to the server: intake is idempotent from here
            self._raise_for(res)
            self._ids[ref] = str(res.json()["id"])
            return
        device_id = self._device_id(ref)
        self._raise_for(self._client.post(f"{API}/devices/{device_id}/{kind}", json=body))

    def flush(self) -> FlushResult:
        """Send queued operations oldest first; stop at the first network or server failure."""
        sent = rejected = 0
        with self._flush_lock:
            for path in self.outbox.pending():
                op = json.loads(path.read_text(encoding="utf-8"))
                try:
                    self._send(op)
                except SyncError as exc:
                    log.warning("server rejected queued %s: %s", path.name, exc)
                    self.outbox.reject(path, str(exc))
                    rejected += 1
                    continue
                except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                    remaining = len(self.outbox.pending())
                    log.info("server unreachable, %d queued: %s", remaining, exc)
                    return FlushResult(sent, rejected, remaining, str(exc) or type(exc).__name__)
                self.outbox.done(path)
                sent += 1
        return FlushResult(sent, rejected, len(self.outbox.pending()))


class SyncWorker:
    """Flushes the queue in the background: every interval, and at once when woken."""

    def __init__(self, sync: ServerSync, interval_s: float = 30.0) -> None:
        self.sync, self.interval_s = sync, interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="station-sync", daemon=True)
        self.last: FlushResult | None = None

    def start(self) -> None:
        """Start the background thread."""
        self._thread.start()

    def wake(self) -> None:
        """Send now (after queueing something)."""
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        self._wake.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.last = self.sync.flush()
            except Exception:  # the edge of the sync loop: log, keep going
                log.exception("sync pass failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()
