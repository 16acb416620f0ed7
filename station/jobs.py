"""Jobs: several wipes and diagnoses at once, each in its own thread, each cancellable.

The runner is UI-free: it reports every change as a ``JobSnapshot`` through a callback
(a Textual app posts it as a message). A job that is cancelled, loses its device or
crashes ends ``incomplete``, never ``passed``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from station.blockio import Progress, ProgressCallback
from station.errors import StationError
from station.hw.blockdev import BlockDevice
from station.reasons import Reason, reason

log = logging.getLogger(__name__)

JobBody = Callable[[threading.Event, ProgressCallback], Any]


@dataclass(frozen=True)
class JobSnapshot:
    """The state of one job at one moment."""

    id: int
    kind: str  # wipe | diagnostics
    device: str
    state: str  # running | passed | failed | incomplete
    started_at: datetime
    ended_at: datetime | None = None
    progress: Progress | None = None
    result: Any = None
    message: str = ""  # in English
    why: Reason | None = None  # the message as a code, when it has one

    @property
    def finished(self) -> bool:
        """True once the job has ended, in whatever state."""
        return self.state != "running"


def result_state(result: Any) -> str:
    """The job state a result stands for (its ``status``, or that of its outcome)."""
    outcome = getattr(result, "outcome", result)
    status = str(getattr(outcome, "status", "incomplete"))
    return status if status in ("passed", "failed", "incomplete") else "incomplete"


class JobRunner:
    """Runs jobs in threads; one job per device at a time."""

    def __init__(self, on_change: Callable[[JobSnapshot], object] | None = None) -> None:
        self._on_change = on_change
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._jobs: dict[int, JobSnapshot] = {}
        self._cancels: dict[int, threading.Event] = {}
        self._done: dict[int, threading.Event] = {}
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, kind: str, device: str, body: JobBody) -> int:
        """Start ``body(cancel, on_progress)`` in a thread; one job per device at a time."""
        with self._lock:
            busy = [j for j in self._jobs.values() if j.device == device and not j.finished]
            if busy:
                raise StationError(reason("job_busy", device=device, kind=busy[0].kind))
            job_id = next(self._ids)
            snap = JobSnapshot(job_id, kind, device, "running", datetime.now(UTC))
            self._jobs[job_id] = snap
            self._cancels[job_id] = threading.Event()
            self._done[job_id] = threading.Event()
            thread = threading.Thread(
                target=self._run, args=(job_id, body), name=f"job-{job_id}-{device}"
            )
            self._threads[job_id] = thread
        self._emit(snap)
        thread.start()
        return job_id

    def _update(self, job_id: int, **changes: Any) -> JobSnapshot:
        with self._lock:
            snap = replace(self._jobs[job_id], **changes)
            self._jobs[job_id] = snap
        self._emit(snap)
        return snap

    def _emit(self, snap: JobSnapshot) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(snap)
        except Exception:  # a listener's bug must not kill the job
            log.exception("job listener failed for job %d", snap.id)

    def _run(self, job_id: int, body: JobBody) -> None:
        cancel = self._cancels[job_id]

        def on_progress(progress: Progress) -> None:
            self._update(job_id, progress=progress)

        try:
            result = body(cancel, on_progress)
            state = result_state(result)
            outcome = getattr(result, "outcome", result)
            message = str(getattr(outcome, "reason", "") or "")
            why = getattr(outcome, "why", None)
            self._update(
                job_id,
                state=state,
                result=result,
                message=message,
                why=why,
                ended_at=datetime.now(UTC),
            )
        except StationError as exc:
            why = getattr(exc, "reason", None)
            why = why if isinstance(why, Reason) else None
            self._update(
                job_id, state="incomplete", message=str(exc), why=why, ended_at=datetime.now(UTC)
            )
        except Exception as exc:  # the edge of the job thread: record, never lose the job
            log.exception("job %d crashed", job_id)
            crashed = reason("crashed", error=repr(exc))
            self._update(
                job_id,
                state="incomplete",
                message=str(crashed),
                why=crashed,
                ended_at=datetime.now(UTC),
            )
        finally:
            self._done[job_id].set()

    def cancel(self, job_id: int) -> None:
        """Ask a job to stop; it ends incomplete."""
        with self._lock:
            event = self._cancels.get(job_id)
        if event:
            event.set()

    def cancel_device(self, device: str) -> list[int]:
        """Cancel every running job on a device (e.g. when it was unplugged)."""
        with self._lock:
            ids = [j.id for j in self._jobs.values() if j.device == device and not j.finished]
        for job_id in ids:
            self.cancel(job_id)
        return ids

    def get(self, job_id: int) -> JobSnapshot:
        """The latest snapshot of a job."""
        with self._lock:
            return self._jobs[job_id]

    def wait(self, job_id: int, timeout: float | None = None) -> JobSnapshot:
        """Wait for a job to finish and return its final snapshot."""
        self._done[job_id].wait(timeout)
        return self.get(job_id)

    def jobs(self) -> list[JobSnapshot]:
        """All jobs, oldest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.id)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel everything still running and wait for the threads."""
        for snap in self.jobs():
            if not snap.finished:
                self.cancel(snap.id)
        for thread in list(self._threads.values()):
            thread.join(timeout)


def submit_wipe(
    runner: JobRunner,
    station: Any,
    dev: BlockDevice,
    method: str,
    confirm: str,
    asset_tag: str = "",
) -> int:
    """Safety-check now (refusals are immediate), then wipe in a job."""
    station.check_wipe(dev, confirm)

    def body(cancel: threading.Event, on_progress: ProgressCallback) -> Any:
        return station.wipe(
            dev, method, confirm, cancel=cancel, on_progress=on_progress, asset_tag=asset_tag
        )

    return runner.submit("wipe", dev.name, body)


def submit_diagnose(
    runner: JobRunner, station: Any, dev: BlockDevice, surface_scan: bool = True
) -> int:
    """Diagnose a disk in a job."""

    def body(cancel: threading.Event, on_progress: ProgressCallback) -> Any:
        return station.diagnose(
            dev, surface_scan=surface_scan, cancel=cancel, on_progress=on_progress
        )

    return runner.submit("diagnostics", dev.name, body)
