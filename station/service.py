"""The station engine behind the TUI and the headless CLI: one safety-checked flow."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station import certificate, keys, safety
from station.blockio import ProgressCallback
from station.config import StationConfig
from station.errors import ParseError, ToolError
from station.evidence import EvidenceRef, EvidenceStore
from station.hw import smart
from station.hw.blockdev import SYS_BLOCK, BlockDevice, list_disks, read_block_device
from station.hw.runner import (
    CommandResult,
    CommandRunner,
    SubprocessRunner,
    tool_version,
    with_tool_path,
)
from station.methods import Capabilities, detect
from station.printing import PrintJob, send_label
from station.reasons import Reason
from station.results import ResultStore
from station.sync import Outbox, ServerSync
from station.wipe import WipeOutcome, run_clear

if TYPE_CHECKING:
    from station.diagnostics import DiskDiagnosis, IpadDiagnosis, TabletDiagnosis

log = logging.getLogger(__name__)

_VERSION_FLAGS = {
    "smartctl": ["smartctl", "--version"],
    "hdparm": ["hdparm", "-V"],
    "nvme": ["nvme", "version"],
    "blkdiscard": ["blkdiscard", "--version"],
    "pymobiledevice3": ["pymobiledevice3", "version"],  # prints the bare version (11.45.0)
}


def _garbled(serial: str) -> bool:
    # USB bridges report their own serial, nothing, or filler like "0000000000000".
    return len(serial) < 4 or len(set(serial)) <= 2 or not re.fullmatch(r"[\w\-. ]+", serial)


@dataclass(frozen=True)
class WipeReport:
    """A finished wipe: its outcome and the signed certificate written for it."""

    outcome: WipeOutcome
    document: dict[str, Any]
    json_path: Path
    pdf_path: Path | None


class Station:
    """The headless station: devices, safety, wipes, certificates (UI-free, thread-safe calls)."""

    def __init__(
        self, cfg: StationConfig, runner: CommandRunner | None = None, sys_block: Path = SYS_BLOCK
    ) -> None:
        self.cfg = cfg
        self.runner = runner or SubprocessRunner(with_tool_path(cfg.tool_path))
        self.sys_block = sys_block
        self.evidence = EvidenceStore(cfg.evidence_dir)
        self.results = ResultStore(cfg.data_dir / "results")
        self._versions: dict[str, str] = {}
        self._lock = threading.Lock()
        self._key: Ed25519PrivateKey | None = None
        self.sync: ServerSync | None = None
        if cfg.server_url and cfg.token:
            self.sync = ServerSync(cfg.server_url, cfg.token, Outbox(cfg.queue_dir))

    def list_devices(self) -> list[BlockDevice]:
        """Attached whole disks (loop devices only if the setting admits them)."""
        return [
            self.enrich(d)
            for d in list_disks(include_loop=self.cfg.allow_loop_devices, sys_block=self.sys_block)
        ]

    def resolve(self, name: str) -> BlockDevice:
        """A device named by the technician: always considered, subject to the safety checks."""
        return self.enrich(read_block_device(name, self.sys_block))

    def enrich(self, dev: BlockDevice) -> BlockDevice:
        """Fill a missing or bridge-garbled serial from what the drive itself reports (smartctl)."""
        if dev.is_loop or (dev.serial and dev.transport != "usb" and not _garbled(dev.serial)):
            return dev
        try:
            summary, _ = smart.read_smart(self.runner, dev.path)
        except (ToolError, ParseError) as exc:
            log.info("no drive serial for %s: %s", dev.path, exc)
            return dev
        if summary.serial and not _garbled(summary.serial):
            return dev.with_serial(summary.serial, "smartctl (reported by the drive)")
        return dev

    def version_of(self, tool: str) -> str:
        """The version of an external tool (cached)."""
        with self._lock:
            if tool not in self._versions:
                flags = _VERSION_FLAGS.get(tool, [tool, "--version"])
                self._versions[tool] = tool_version(self.runner, flags)
            return self._versions[tool]

    def keep(self, result: CommandResult) -> EvidenceRef:
        """Store a tool's raw output as immutable evidence."""
        tool = result.argv[0] if result.argv else "unknown"
        return self.evidence.record(result, self.version_of(tool))

    def print_label(self, pdf: Path) -> PrintJob | None:
        """Send a label PDF to the ``label_printer`` queue (None: no printer is set), on the
        ``label_print_server`` CUPS server when one is set.

        Raises PrintError (a coded reason) when lp is missing or the queue refuses the job.
        """
        if not self.cfg.label_printer:
            return None
        cfg = self.cfg
        return send_label(
            self.runner, cfg.label_printer, cfg.label_options, pdf, cfg.label_print_server
        )

    def capabilities(self, dev: BlockDevice) -> Capabilities:
        """The wipe methods ``dev`` supports, strongest first."""
        return detect(dev, self.runner, self.sys_block)

    def refusals(self, dev: BlockDevice) -> list[Reason]:
        """Why ``dev`` may not be wiped now (empty when it may, given the right confirmation)."""
        return safety.refusal_reasons(dev, sys_block=self.sys_block)

    def check_wipe(self, dev: BlockDevice, confirm: str | None) -> None:
        """Raise SafetyRefusal with every reason if ``dev`` must not be wiped now."""
        safety.check_wipe_allowed(dev, confirm, sys_block=self.sys_block)

    def wipe(
        self,
        dev: BlockDevice,
        method: str,
        confirm: str | None,
        *,
        cancel: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
        asset_tag: str = "",
    ) -> WipeReport:
        """Safety-check, wipe with the chosen method, verify, and issue a signed certificate."""
        self.check_wipe(dev, confirm)
        caps = self.capabilities(dev)
        option = caps.choose(method)
        refs = tuple(self.keep(r) for r in caps.outputs)
        if option.category == "Clear":
            outcome = run_clear(
                dev, option.name, cancel=cancel, on_progress=on_progress,
                hidden_areas=caps.hidden_areas, evidence=refs,
            )  # fmt: skip
        else:
            from station.purge import run_purge  # Purge pulls in the tool drivers only when used

            outcome = run_purge(self, dev, option, cancel=cancel, on_progress=on_progress,
                                hidden_areas=caps.hidden_areas, evidence=refs)  # fmt: skip
        return self.issue(outcome, asset_tag)

    def issue(self, outcome: WipeOutcome, asset_tag: str = "") -> WipeReport:
        """Sign and store the certificate (JSON, then PDF) for a wipe outcome."""
        key = self.signing_key()
        document = certificate.sign(certificate.build_body(outcome, self.cfg, asset_tag), key)
        json_path = certificate.save(document, self.cfg.certificate_dir)
        pdf_target = json_path.with_suffix(".pdf")
        pdf_path: Path | None = pdf_target
        try:
            # fpdf is slow to import: load it only when a certificate is issued.
            from station.certificate_pdf import write_pdf

            write_pdf(document, pdf_target)
        except Exception:  # a PDF problem must never lose the signed JSON
            log.exception("could not write the PDF for %s", json_path)
            pdf_path = None
        return WipeReport(outcome, document, json_path, pdf_path)

    def signing_key(self) -> Ed25519PrivateKey:
        """The station's signing key, created on first use and then kept."""
        with self._lock:
            if self._key is None:
                self._key = keys.load_or_create_key(self.cfg.key_dir)
            return self._key

    def diagnose(
        self,
        dev: BlockDevice,
        *,
        surface_scan: bool = True,
        cancel: threading.Event | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> DiskDiagnosis:
        """Diagnose a disk and keep the result (pointing to its evidence)."""
        from station.diagnostics import diagnose_disk

        diag = diagnose_disk(
            self, dev, surface_scan_wanted=surface_scan, cancel=cancel, on_progress=on_progress
        )
        self.results.save("diagnostics", dev.serial or dev.name, diag.to_dict())
        return diag

    def diagnose_tablet(self, serial: str) -> TabletDiagnosis:
        """Diagnose an Android tablet over adb and keep the result (pointing to its evidence)."""
        from station.diagnostics import diagnose_tablet

        diag = diagnose_tablet(self, serial)
        self.results.save("diagnostics", serial, diag.to_dict())
        return diag

    def diagnose_ipad(self, usb_serial: str) -> IpadDiagnosis:
        """Diagnose an iPad over pymobiledevice3 and keep the result (pointing to its evidence)."""
        from station.diagnostics import diagnose_ipad

        diag = diagnose_ipad(self, usb_serial)
        self.results.save("diagnostics", diag.info.serial or usb_serial, diag.to_dict())
        return diag

    def queue_job(self, device_ref: str, job: dict[str, Any]) -> bool:
        """Queue a job record for the server (False when no server is configured)."""
        if self.sync is None or not device_ref:
            return False
        self.sync.job(device_ref, job)
        return True

    def public_key(self) -> Ed25519PublicKey:
        """The station's public key (creating the key pair on first use)."""
        return self.signing_key().public_key()

    def verify_file(
        self, path: Path, trusted: Ed25519PublicKey | None = None
    ) -> certificate.VerifiedCertificate:
        """Verify a certificate file offline against ``trusted`` (default: this station's key)."""
        return certificate.verify(certificate.load_document(path), trusted or self.public_key())
