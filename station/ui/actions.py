"""Per-device actions: intake, diagnose, wipe, grade, label, mark ready, cancel.

Destructive work goes through the engine's safety checks and job runner; anything that
may block (capability detection, server calls, PDF writing) runs in a thread worker.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from textual import work

from station import label
from station.errors import SafetyRefusal, StationError
from station.grading import condition_record
from station.hw.blockdev import BlockDevice
from station.jobs import submit_diagnose, submit_wipe
from station.methods import Capabilities
from station.reasons import Reason, english, reason
from station.ui.dialogs import IntakeDialog, IntakeRequest, WipeDialog, WipeRequest
from station.ui.grade import GradeDialog, GradeResult
from station.ui.messages import DeviceFacts, LogLine
from station.ui.model import DeviceRecord
from station.ui.tablet_actions import TabletActions

log = logging.getLogger(__name__)


class DeviceActions(TabletActions):
    """The actions bound to keys on the main screen."""

    def on_main_screen(self) -> bool:
        """True when no dialog or other screen is on top (app keys act on the table only)."""
        return len(self.screen_stack) == 1

    def _target(self) -> DeviceRecord | None:
        if not self.on_main_screen():
            return None
        rec = self.selected()
        if rec is None:
            self.notify(self.t("no_device"), severity="warning")
        return rec

    def refuse(self, rec: DeviceRecord, reasons: Sequence[Reason | str]) -> None:
        """Show why the station refuses, in the log and as a notification (in its language)."""
        worded = [self.say(why) for why in reasons]
        for line in worded:
            self.write_log(f"{rec.slot}: {self.t('refused')}: {line}", warn=True)
        self.notify(
            "\n".join(worded), title=self.t("refused"), severity="error", timeout=10, markup=False
        )

    # -- wipe ------------------------------------------------------------------------------
    def action_wipe(self) -> None:
        """Wipe the selected disk: checks and methods first, then the typed confirmation."""
        rec = self._target()
        if rec is None:
            return
        if rec.tablet is not None:
            self.reset_tablet(rec, rec.tablet)
            return
        if rec.disk is None:
            return
        if rec.busy:
            self.notify(self.t("busy"), severity="warning")
            return
        self.notify(self.t("checking"), timeout=2)
        self._prepare_wipe(rec.key, rec.disk)

    @work(thread=True, group="prepare")
    def _prepare_wipe(self, key: str, dev: BlockDevice) -> None:
        try:
            caps = self.engine.capabilities(dev)
            refusals: list[Reason] = list(self.engine.refusals(dev))
        except StationError as exc:
            self.post_message(LogLine(f"{dev.name}: {self.say(exc)}", warn=True))
            return
        self.call_from_thread(self._open_wipe_dialog, key, dev, caps, refusals)

    def _open_wipe_dialog(
        self, key: str, dev: BlockDevice, caps: Capabilities, refusals: list[Reason]
    ) -> None:
        rec = self.records[key]
        if refusals:
            self.refuse(rec, refusals)

        def chosen(request: WipeRequest | None) -> None:
            if request is not None:
                self.start_wipe(rec, dev, request)

        dialog = WipeDialog(dev.name, bool(dev.serial), caps, refusals, self.language)
        self.push_screen(dialog, chosen)

    def start_wipe(self, rec: DeviceRecord, dev: BlockDevice, request: WipeRequest) -> None:
        """Submit the wipe job; the engine re-checks safety and the confirmation now."""
        if not rec.attached:
            self.refuse(rec, [reason("detached", name=dev.name)])
            return
        self.submitting(rec, dev.name)
        try:
            submit_wipe(self.jobs, self.engine, dev, request.method, request.confirm, rec.asset_tag)
        except SafetyRefusal as exc:
            self.refuse(rec, exc.refusals)
        except StationError as exc:
            self.refuse(rec, [exc.reason or str(exc)])

    # -- diagnose --------------------------------------------------------------------------
    def action_diagnose(self) -> None:
        """SMART and a full-surface read scan of the selected disk (tablets: over adb)."""
        rec = self._target()
        if rec is None:
            return
        if rec.tablet is not None:
            self.diagnose_tablet(rec, rec.tablet)
            return
        if self.simulated or rec.disk is None:
            self.notify(self.t("sim_no_diagnosis"), severity="warning")
            return
        self.submitting(rec, rec.disk.name)
        try:
            submit_diagnose(self.jobs, self.engine, rec.disk)
        except StationError as exc:
            self.refuse(rec, [exc.reason or str(exc)])

    # -- cancel ----------------------------------------------------------------------------
    def action_cancel_job(self) -> None:
        """Cancel the selected device's running job (it ends incomplete)."""
        rec = self._target()
        if rec is None:
            return
        if not rec.busy or rec.job is None:
            self.notify(self.t("nothing_running"))
            return
        self.jobs.cancel(rec.job.id)
        self.write_log(f"{rec.slot}: {self.t('cancelling')}")

    # -- intake ----------------------------------------------------------------------------
    def action_intake(self) -> None:
        """Show the identity; register on the server or keep a known asset tag."""
        rec = self._target()
        if rec is None:
            return
        source = rec.disk.serial_source if rec.disk else "usb"
        identity = (
            f"{rec.kind} {rec.make_model or '-'}\nS/N {rec.serial or '-'} "
            f"({self.t('serial_source')} {source})\n{rec.capacity}"
        )
        can_register = getattr(self.engine, "sync", None) is not None and bool(rec.serial)

        def done(request: IntakeRequest | None) -> None:
            if request is None:
                return
            if request.asset_tag and not re.fullmatch(
                r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", request.asset_tag
            ):
                self.refuse(rec, [self.t("bad_tag", tag=request.asset_tag)])
                return
            if request.asset_tag:
                rec.asset_tag = request.asset_tag
                self.lookups.changed(rec.key)
                self.table.show(rec)
                self.write_log(f"{rec.slot}: {self.t('col_tag')} {rec.asset_tag}")
            if request.register:
                self._register_on_server(rec.key, rec.kind, rec.make_model, rec.serial, rec.disk)

        self.push_screen(IntakeDialog(identity, rec.asset_tag, can_register, self.language), done)

    @work(thread=True, group="sync")
    def _register_on_server(
        self, key: str, kind: str, make_model: str, serial: str, disk: BlockDevice | None
    ) -> None:
        sync = self.engine.sync
        specs: dict[str, Any] = {}
        rec = self.records[key]
        if disk is not None:
            specs["storage_gb"] = round(disk.size_bytes / 1e9, 1)
        make = disk.vendor if disk else (rec.tablet.manufacturer if rec.tablet else "")
        model = disk.model if disk else (rec.tablet.product if rec.tablet else make_model)
        sync.intake("tablet" if kind == "tablet" else "laptop", make, model, serial, specs)
        result = sync.flush()
        if result.error:
            self.post_message(LogLine(f"{serial}: {self.t('intake_queued')} ({result.error})"))
            return
        facts = self.server_facts(serial)
        if facts:
            self.post_message(DeviceFacts(key, **facts))
        tag = facts.get("asset_tag", "")
        self.post_message(LogLine(f"{serial}: {self.t('tag_found')} {tag or '?'}", warn=not tag))

    # -- grade -----------------------------------------------------------------------------
    def action_grade(self) -> None:
        """Grade the selected device: cosmetic, functional checklist, battery."""
        rec = self._target()
        if rec is None:
            return
        previous = (
            GradeResult(rec.grades, rec.checklist, rec.battery_health_pct, rec.battery_cycles)
            if rec.grades is not None and rec.checklist is not None
            else None
        )

        def done(result: GradeResult | None) -> None:
            if result is None:
                return
            rec.grades, rec.checklist = result.grades, result.checklist
            rec.battery_health_pct, rec.battery_cycles = (
                result.battery_health_pct,
                result.battery_cycles,
            )
            g = result.grades
            verdict = self.t("lendable") if g.lendable else self.t("not_lendable")
            why = f" ({'; '.join(map(self.say, g.reasons))})" if g.reasons else ""
            self.write_log(
                f"{rec.slot}: {g.cosmetic}/{g.functional}/{g.battery} {verdict}{why}",
            )
            sync = getattr(self.engine, "sync", None)
            ref = rec.asset_tag or rec.serial
            record = condition_record(g, result.checklist, "", self.engine.cfg.technician)
            kept = {**record, "lendable": g.lendable, "reasons": english(g.reasons)}
            subject = ref or rec.slot
            # The grade is kept as a station result, like the CLI's, then sent if possible.
            self.to_outbox(rec.slot, lambda: self.engine.results.save("grade", subject, kept))
            if sync is not None and ref:
                self.to_outbox(rec.slot, lambda: sync.condition(ref, record))
            self._show_detail()

        self.push_screen(
            GradeDialog(rec.make_model or rec.slot, self.rule, self.language, previous), done
        )

    # -- label -----------------------------------------------------------------------------
    def action_label(self) -> None:
        """Write the label (QR code of the asset tag) as PNG and PDF; print it on label_printer."""
        rec = self._target()
        if rec is None:
            return
        if not rec.asset_tag:
            self.refuse(rec, [self.t("no_tag")])
            return
        grades = rec.grades
        lines = (
            rec.make_model,
            f"S/N {rec.serial}" if rec.serial else "",
            f"{grades.cosmetic}/{grades.functional}/{grades.battery}" if grades else "",
        )
        self._write_label(rec.slot, rec.asset_tag, tuple(x for x in lines if x))

    @work(thread=True, group="label")
    def _write_label(self, slot: str, tag: str, lines: tuple[str, ...]) -> None:
        folder = self.engine.cfg.data_dir / "labels"
        try:
            png = label.qr_png(tag, folder / f"{tag}.png")
            pdf = label.label_pdf(tag, folder / f"{tag}.pdf", lines)
        except (StationError, OSError) as exc:
            self.post_message(LogLine(f"{slot}: {self.say(exc)}", warn=True))
            return
        self.post_message(LogLine(f"{slot}: {self.t('label_written')}: {png} {pdf}"))
        try:
            job = self.engine.print_label(pdf)  # None: no label printer is set
        except StationError as exc:
            self.post_message(LogLine(f"{slot}: {self.say(exc)}", warn=True))
            return
        if job is None:
            return
        if job.stopped:  # a stopped queue took it: it waits there until the queue is resumed
            said = self.t("label_queued_stopped", queue=job.queue, job=job.job_id or "?",
                          said=job.stopped)  # fmt: skip
        elif job.job_id:
            said = self.t("label_printed", queue=job.queue, job=job.job_id)
        else:
            said = self.t("label_printed_no_id", queue=job.queue)
        self.post_message(LogLine(f"{slot}: {said}", warn=bool(job.stopped)))

    # -- ready -----------------------------------------------------------------------------
    def action_ready(self) -> None:
        """Mark ready for lending: only graded lendable with a passed wipe, never otherwise."""
        rec = self._target()
        if rec is None:
            return
        blockers = rec.ready_blockers()
        if blockers:
            self.refuse(rec, [f"{self.t('ready_refused')}: {self.say(b)}" for b in blockers])
            return
        rec.ready = True
        self.write_log(f"{rec.slot}: {self.t('ready_ok')}")
        sync = getattr(self.engine, "sync", None)
        ref = rec.asset_tag or rec.serial
        if sync is not None and ref:
            via_refurbishing = rec.server_state in ("intake", "returned")

            def put() -> None:
                if via_refurbishing:
                    # The server's lifecycle reaches ready only through refurbishing.
                    sync.transition(ref, "refurbishing", "refurbished at the station")
                sync.transition(ref, "ready", "wiped (verified), graded lendable at the station")

            self.to_outbox(rec.slot, put)
            rec.server_state = "ready"
            self.lookups.changed(rec.key)
        self._show_detail()
