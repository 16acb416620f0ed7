"""The app's core: device records, hardware detection in a worker, job and fact messages.

Nothing here blocks the UI thread: detection waits for uevents in a thread worker,
device inspection (smartctl, server lookup) runs in its own worker, and the engine's
job threads report through ``JobChanged`` messages.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Header, Log
from textual.worker import get_current_worker

from station.diagnostics import DiskDiagnosis, IpadDiagnosis, TabletDiagnosis
from station.errors import ParseError, ToolError
from station.grading import LendableRule
from station.history import load_history
from station.hw import smart
from station.hw.blockdev import BlockDevice
from station.hw.udev import (
    DiskAttached,
    DiskDetached,
    MediaChanged,
    StationEvent,
    TabletAttached,
    TabletDetached,
)
from station.jobs import JobRunner, JobSnapshot
from station.reasons import Reason
from station.records import diagnostics_job, tablet_diagnostics_job, wipe_job
from station.sync import SyncWorker
from station.ui.i18n import text
from station.ui.messages import DeviceEvent, DeviceFacts, JobChanged, LogLine
from station.ui.model import SERVER_FACTS, DeviceRecord, LookupOrder, disk_key, slot_of, tablet_key
from station.ui.outbox import OutboxWriter
from station.ui.reason_texts import say
from station.ui.tablet import tablet_detail
from station.ui.widgets import DetailLine, DeviceTable, KeyBar

log = logging.getLogger(__name__)

PROGRESS_REPAINT_S = 0.5
# A progress repaint re-renders every visible table cell (DataTable drops its render caches
# on any cell update): ~15 ms of CPU, several times that on a busy machine. While keys are
# being pressed, progress waits for a pause of KEY_QUIET_S, but never longer than
# PROGRESS_DEFER_MAX_S: keys are answered first, the bars catch up.
KEY_QUIET_S = 0.3
PROGRESS_DEFER_MAX_S = 2.0


class StationCore(App[int]):
    """State and plumbing shared by the station's actions and screens."""

    def __init__(
        self,
        engine: Any,
        source: Any,
        *,
        language: str = "nl",
        simulated: bool = False,
        rule: LendableRule | None = None,
    ) -> None:
        super().__init__()
        self.engine, self.source, self.language = engine, source, language
        self.simulated = simulated
        self.rule = rule or LendableRule()
        self.records: dict[str, DeviceRecord] = {}
        self.attached: dict[str, str] = {}  # kernel name / usb path -> record key
        self._job_owner: dict[int, str] = {}
        self._pending_owner: dict[str, str] = {}
        self.jobs = JobRunner(lambda snap: self.post_message(JobChanged(snap)))
        self.sync_worker: SyncWorker | None = None
        self.outbox = OutboxWriter(self._outbox_done)
        self._finished: set[int] = set()
        self._progress_dirty: set[str] = set()
        self._last_key = self._last_repaint = 0.0
        self.lookups = LookupOrder()

    def t(self, key: str, **values: object) -> str:
        """Interface text in the current language."""
        return text(self.language, key, **values)

    def say(self, why: Reason | str | Exception) -> str:
        """An engine reason (a refusal, a blocker, an error's code) in the current language."""
        return say(self.language, why)

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """Header, device table, detail line, job log, key bindings."""
        # Kept as attributes: App.query_one searches the active screen, which is a dialog
        # whenever one is open, while progress and device events keep arriving.
        self.table = DeviceTable(self.language)
        self.detail = DetailLine(id="detail", markup=False)
        self.log_pane = Log(id="log", max_lines=1000)
        yield Header()
        yield self.table
        yield self.detail
        yield self.log_pane
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        """Title, detection worker, background sync."""
        self.title = self.t("title")
        self.sub_title = self.t("simulated") if self.simulated else ""
        self.detail.show(None, self.language)
        self.watch_hardware()
        self.outbox_writer()
        self.set_interval(PROGRESS_REPAINT_S, self._repaint_progress)
        sync = getattr(self.engine, "sync", None)
        if sync is not None and not self.simulated:
            self.sync_worker = SyncWorker(sync, self.engine.cfg.sync_interval_s)
            self.sync_worker.start()

    def on_unmount(self) -> None:
        """Stop detection and sync; running jobs are cancelled, end incomplete and are queued."""
        self.workers.cancel_group(self, "detection")
        self.jobs.shutdown(timeout=10)
        # Jobs that ended during shutdown never reach the message loop: record them here.
        for snap in self.jobs.jobs():
            rec = self.records.get(self._owner(snap))
            if snap.finished and snap.id not in self._finished and rec is not None:
                self._record_result(rec, snap)
        self.outbox.drain()  # what is still waiting reaches the disk before the station stops
        if self.sync_worker is not None:
            self.sync_worker.stop()

    def write_log(self, line: str, *, warn: bool = False) -> None:
        """Append a line to the job log pane and the station log file."""
        (log.warning if warn else log.info)("%s", line)
        self.log_pane.write_line(("! " if warn else "") + line)

    @on(LogLine)
    def _log_line(self, message: LogLine) -> None:
        self.write_log(message.line, warn=message.warn)

    # -- detection -------------------------------------------------------------------------
    @work(thread=True, group="detection", name="detection")
    def watch_hardware(self) -> None:
        """Turn the engine's device events into messages until the app stops."""
        worker = get_current_worker()
        events: queue.Queue[StationEvent] = queue.Queue()
        self.source.on_event = events.put
        try:
            for event in self.source.start():
                self.post_message(DeviceEvent(event))
            while not worker.is_cancelled:
                try:
                    event = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                self.post_message(DeviceEvent(event))
        except Exception as exc:  # the edge of the detection loop: show it, never crash the UI
            log.exception("device detection stopped")
            self.post_message(LogLine(f"{self.t('detection_stopped')}: {self.say(exc)}", True))
        finally:
            self.source.stop()

    @on(DeviceEvent)
    def _device_event(self, message: DeviceEvent) -> None:
        event = message.event
        if isinstance(event, DiskAttached | MediaChanged):
            self._disk_seen(event.device)
        elif isinstance(event, DiskDetached | TabletDetached):
            self._gone(event.name if isinstance(event, DiskDetached) else event.usb_path)
        elif isinstance(event, TabletAttached):
            tab = event.tablet
            key = tablet_key(tab)
            rec = self.records.setdefault(key, DeviceRecord(key, slot=Path(tab.usb_path).name))
            rec.tablet, rec.attached = tab, True
            if tab.kind == "apple":  # how the station can handle it, in the SMART column
                manual = tab.procedure != "pymobiledevice3"
                rec.smart = self.t("manual_procedure") if manual else tab.procedure
            self.attached[tab.usb_path] = key
            self.table.show(rec)
            self.write_log(f"{rec.slot}: tablet {rec.make_model} {self.t('attached')}")
            self.inspect_tablet(key, tab.serial)

    def _gone(self, name: str) -> None:
        key = self.attached.pop(name, None)
        if key is None:
            return
        rec = self.records[key]
        rec.attached = False
        self.table.drop(key)
        self.write_log(f"{rec.slot}: {self.t('detached')}")
        self._show_detail()

    def _disk_seen(self, dev: BlockDevice) -> None:
        if self.attached.get(dev.name, disk_key(dev)) != disk_key(dev):
            # Other media under the same name (card reader, hot-swap bay): the old one left.
            self._gone(dev.name)
        known_name = self.attached.get(dev.name)
        key = known_name or disk_key(dev)
        new = known_name is None
        rec = self.records.get(key)
        if rec is None:
            rec = self.records[key] = DeviceRecord(key, slot=slot_of(dev))
        if new or rec.disk is None or not rec.disk.serial:
            rec.disk = dev
        else:  # keep a serial found by smartctl across media-change events
            rec.disk = dev.with_serial(rec.disk.serial, rec.disk.serial_source)
        rec.attached = True
        self.attached[dev.name] = key
        self.table.show(rec)
        if new:
            self.write_log(f"{rec.slot}: {rec.kind} {rec.make_model} {self.t('attached')}")
            self.inspect_disk(key, dev)
        self._show_detail()

    @work(thread=True, group="inspect")
    def inspect_disk(self, key: str, dev: BlockDevice) -> None:
        """Serial from the drive, SMART verdict and server asset tag, off the UI thread."""
        if self.simulated:
            return
        facts: dict[str, Any] = {}
        if not dev.is_loop:
            enriched = self.engine.enrich(dev)
            if enriched.serial != dev.serial:
                facts["disk"] = enriched
            try:
                summary, _ = smart.read_smart(self.engine.runner, dev.path)
                facts["smart"] = summary.verdict
            except (ToolError, ParseError) as exc:
                log.info("no SMART for %s: %s", dev.path, exc)
                facts["smart"] = "?"
            dev = enriched
        else:
            facts["smart"] = "n/a"
        facts.update(self.server_facts(dev.serial))
        self.post_message(DeviceFacts(key, **facts))

    def server_facts(self, serial: str) -> dict[str, Any]:
        """Asset tag, lifecycle state and history of a device: the server's, else the station's
        own records (blocking: call in a worker)."""
        if not serial or self.simulated:
            return {}
        asked = self.lookups.ask()
        history = load_history(self.engine, serial)
        facts: dict[str, Any] = {"history": history, "asked": asked}
        if history.from_server:
            facts.update(asset_tag=history.asset_tag, server_state=history.state)
        return facts

    @work(thread=True, group="inspect")
    def inspect_tablet(self, key: str, serial: str) -> None:
        """Look a tablet up on the server, off the UI thread."""
        facts = self.server_facts(serial)
        if facts:
            self.post_message(DeviceFacts(key, **facts))

    @on(DeviceFacts)
    def _device_facts(self, message: DeviceFacts) -> None:
        rec = self.records.get(message.key)
        if rec is None:
            return
        facts = dict(message.facts)
        asked = facts.pop("asked", None)
        if asked is not None and not self.lookups.fresh(rec.key, asked):
            facts = {k: v for k, v in facts.items() if k not in SERVER_FACTS}
        for name, value in facts.items():
            setattr(rec, name, value)
        if rec.attached:
            self.table.show(rec)
        self._show_detail()

    # -- jobs ------------------------------------------------------------------------------
    def submitting(self, rec: DeviceRecord, name: str) -> None:
        """Remember whose job the next snapshot for ``name`` is (before submitting it)."""
        self._pending_owner[name] = rec.key

    def _owner(self, snap: JobSnapshot) -> str:
        return self._job_owner.setdefault(
            snap.id, self._pending_owner.get(snap.device) or self.attached.get(snap.device, "")
        )

    @on(JobChanged)
    def _job_changed(self, message: JobChanged) -> None:
        snap = message.snapshot
        rec = self.records.get(self._owner(snap))
        if rec is None:
            return
        if snap.finished and snap.id in self._finished:
            return
        rec.job = snap
        if snap.finished:
            detail = self._record_result(rec, snap)
            kind, state = self.t(f"hist_{snap.kind}"), self.t(f"state_{snap.state}")
            self.write_log(
                f"{rec.slot}: {kind} {state} {detail}".rstrip(), warn=snap.state != "passed"
            )
        elif snap.progress is None:
            self.write_log(f"{rec.slot}: {self.t(f'hist_{snap.kind}')} {self.t('job_started')}")
        else:
            # Progress only: drawn by the next repaint tick. Every changed cell makes the
            # table render again, and four jobs report four times a second each.
            self._progress_dirty.add(rec.key)
            return
        if rec.attached:
            self.table.show(rec)
        self._show_detail()

    async def on_event(self, event: events.Event) -> None:
        """Note when a key came in (progress repaints wait while keys are pressed)."""
        if isinstance(event, events.Key):
            self._last_key = time.monotonic()
        await super().on_event(event)

    def _repaint_progress(self) -> None:
        now = time.monotonic()
        typing = now - self._last_key < KEY_QUIET_S
        if typing and now - self._last_repaint < PROGRESS_DEFER_MAX_S:
            return
        self._last_repaint = now
        dirty, self._progress_dirty = self._progress_dirty, set()
        for key in dirty:
            rec = self.records.get(key)
            if rec is not None and rec.attached:
                self.table.show(rec)
        if dirty:
            self._show_detail()

    def _record_result(self, rec: DeviceRecord, snap: JobSnapshot) -> str:
        """Keep a finished job's result on the record and queue it for the server."""
        self._finished.add(snap.id)
        rec.job = snap
        result = snap.result
        detail = self.say(snap.why) if snap.why else snap.message
        if snap.kind == "wipe":
            rec.wipe_statuses.append(snap.state)
            if snap.state != "passed":
                rec.ready = False
            path = getattr(result, "json_path", None)
            if path is not None:
                rec.certificates.append(path)
                detail = f"{detail} {self.t('certificate')} {path}".strip()
                self.send(rec, wipe_job(result))
        elif isinstance(result, DiskDiagnosis):
            rec.smart = result.smart.verdict if result.smart else rec.smart or "?"
            found = [result.smart_why, *result.reasons] if result.smart_why else result.reasons
            detail = "; ".join(map(self.say, found)) or detail
            self.send(rec, diagnostics_job(result))
        elif isinstance(result, TabletDiagnosis | IpadDiagnosis):
            rec.smart, rec.battery_cycles, health, detail = tablet_detail(result, self.say)
            rec.battery_health_pct = health if health is not None else rec.battery_health_pct
            self.send(rec, tablet_diagnostics_job(result))
        return detail

    def send(self, rec: DeviceRecord, job: dict[str, Any]) -> None:
        """Queue a job result for the server (sent by the sync worker, kept if offline)."""
        ref = rec.asset_tag or rec.serial
        self.to_outbox(rec.slot, lambda: self.engine.queue_job(ref, job))

    def to_outbox(self, slot: str, put: Callable[[], object]) -> None:
        """Write to the on-disk outbox off the UI thread, in order (fsync can stall under I/O)."""
        self.outbox.put(slot, put)

    @work(thread=True, group="outbox", name="outbox")
    def outbox_writer(self) -> None:
        """One thread writes the outbox, so records reach the server in the order made."""
        worker = get_current_worker()
        while not worker.is_cancelled:
            self.outbox.write_next(timeout=0.2)

    def _outbox_done(self, slot: str, exc: Exception | None) -> None:
        if exc is not None:
            log.warning("%s: could not queue for the server: %s", slot, exc)
            self.post_message(LogLine(f"{slot}: {self.t('not_queued')}: {self.say(exc)}", True))
            return
        if self.sync_worker is not None:
            self.sync_worker.wake()

    # -- selection -------------------------------------------------------------------------
    def selected(self) -> DeviceRecord | None:
        """The attached device under the cursor."""
        key = self.table.selected_key()
        rec = self.records.get(key) if key else None
        return rec if rec is not None and rec.attached else None

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        self.detail.show(self.selected(), self.language)
