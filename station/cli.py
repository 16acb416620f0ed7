"""``digibank-station``: the headless station (list, diagnose, wipe, verify, pubkey) and the TUI."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from station import keys
from station.blockio import Progress
from station.cli_grade import add_commands as add_grade_commands
from station.config import load_config
from station.errors import DeviceError, SafetyRefusal, StationError, ToolError
from station.reasons import english
from station.records import diagnostics_job, tablet_diagnostics_job, wipe_job
from station.service import Station
from station.units import human_bytes, human_eta

if TYPE_CHECKING:
    from station.diagnostics import IpadDiagnosis, TabletDiagnosis

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3


class StderrProgress:
    """Prints progress lines on stderr, at most one a second (plus the end of each phase)."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self._last < 1.0 and p.done_bytes < p.total_bytes:
            return
        self._last = now
        eta = human_eta(p.eta_s)
        print(
            f"{p.phase:7s} {100 * p.fraction:5.1f} %  {human_bytes(p.bytes_per_s)}/s  ETA {eta}",
            file=sys.stderr,
            flush=True,
        )


def _device_row(dev: Any) -> dict[str, Any]:
    row = {"kind": "disk", **asdict(dev)}
    row.pop("udev", None)
    row["confirm_hint"] = "last 4 of serial" if dev.serial else "kernel name"
    return row


def cmd_list(station: Station, args: argparse.Namespace) -> int:
    """List attached disks and tablets."""
    from station.hw.runner import with_tool_path
    from station.hw.usb import list_tablets

    devices = station.list_devices()
    tablets = list_tablets(search_path=with_tool_path(station.cfg.tool_path))
    if args.json:
        rows = [{**_device_row(d), "refusals": english(station.refusals(d))} for d in devices]
        rows += [{"kind": "tablet", **asdict(t)} for t in tablets]
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not devices and not tablets:
        print("no devices attached")
    for d in devices:
        serial = d.serial or "-"
        refusals = english(station.refusals(d))
        protected = "  [protected: " + "; ".join(refusals) + "]" if refusals else ""
        print(
            f"{d.name:10s} {d.transport:7s} {human_bytes(d.size_bytes):>10s}  "
            f"{d.model or '-':24s} {serial}{protected}"
        )
    for t in tablets:
        print(
            f"{'tablet':10s} {t.kind:11s} {t.product or '-':30s} {t.serial or '-'}  ({t.procedure})"
        )
    return EXIT_OK


def _send(station: Station, device_ref: str, job: dict[str, Any]) -> None:
    """Queue a result for the server and try to send the queue once (it stays queued if offline)."""
    if not station.queue_job(device_ref, job) or station.sync is None:
        return
    result = station.sync.flush()
    state = f"server unreachable, {result.remaining} queued" if result.error else "sent"
    print(f"sync: {state}", file=sys.stderr)


def cmd_intake(station: Station, args: argparse.Namespace) -> int:
    """Register a device with the server (queued if offline); print its asset tag when known."""
    if station.sync is None:
        print("no server configured (DIGIBANK_STATION_SERVER_URL, _TOKEN)", file=sys.stderr)
        return EXIT_USAGE
    specs = {"cpu": args.cpu, "ram_gb": args.ram_gb, "storage_gb": args.storage_gb}
    station.sync.intake(args.kind, args.make, args.model, args.serial, specs)
    result = station.sync.flush()
    if result.error:
        print(f"server unreachable, {result.remaining} queued: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    found = station.sync.lookup(args.serial)
    print(found.get("asset_tag", "") if found else "")
    return EXIT_OK if found else EXIT_FAILED


def cmd_sync(station: Station, args: argparse.Namespace) -> int:
    """Send the offline queue to the server now."""
    if station.sync is None:
        print("no server configured (DIGIBANK_STATION_SERVER_URL, _TOKEN)", file=sys.stderr)
        return EXIT_USAGE
    result = station.sync.flush()
    print(f"sent {result.sent}, rejected {result.rejected}, still queued {result.remaining}")
    if result.error:
        print(f"server unreachable: {result.error}", file=sys.stderr)
    return EXIT_OK if result.remaining == 0 else EXIT_FAILED


def cmd_wipe(station: Station, args: argparse.Namespace) -> int:
    """Wipe one device; print the certificate path last on stdout."""
    cancel = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        print("cancelling...", file=sys.stderr, flush=True)
        cancel.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    dev = station.resolve(args.device)
    report = station.wipe(
        dev,
        args.method,
        args.confirm,
        cancel=cancel,
        on_progress=StderrProgress(),
        asset_tag=args.asset_tag,
    )
    out = report.outcome
    print(
        f"{out.category} ({out.method}) of {dev.path}: {out.status}"
        + (f" - {out.reason}" if out.reason else "")
        + f"; wrote {human_bytes(out.bytes_written)} at {human_bytes(out.write_bytes_per_s)}/s; "
        f"verification {out.verification.result}",
        file=sys.stderr,
    )
    if report.pdf_path:
        print(f"PDF: {report.pdf_path}", file=sys.stderr)
    _send(station, args.device_ref or args.asset_tag, wipe_job(report))
    print(report.json_path, flush=True)
    return EXIT_OK if out.status == "passed" else EXIT_FAILED


def cmd_verify(station: Station, args: argparse.Namespace) -> int:
    """Verify a certificate offline; exit 0 only if intact and validly signed."""
    trusted = keys.load_public_key(Path(args.public_key).read_bytes()) if args.public_key else None
    verified = station.verify_file(Path(args.file), trusted)
    body = verified.body
    print(
        f"OK: certificate {body.get('certificate_id')} is intact, "
        f"signed by station key {verified.key_id}; "
        f"wipe status {body.get('status')}"
    )
    return EXIT_OK


def cmd_record(station: Station, args: argparse.Namespace) -> int:
    """One signed record for a device with several disks; exit 0 only if every disk passed."""
    from station import certificate

    documents = []
    for name in args.certificates:
        document = certificate.load_document(Path(name))
        station.verify_file(Path(name))  # every component must be intact and ours
        documents.append(document)
    body = certificate.build_device_record(
        documents, station.cfg, args.asset_tag, args.make, args.model
    )
    path = certificate.save(
        certificate.sign(body, station.signing_key()), station.cfg.certificate_dir
    )
    print(f"device record: {body['status']} ({len(documents)} disks)", file=sys.stderr)
    print(path)
    return EXIT_OK if body["status"] == "passed" else EXIT_FAILED


def cmd_pubkey(station: Station, args: argparse.Namespace) -> int:
    """Print the station's public key (PEM); with --publish, also publish it on the server."""
    public = station.public_key()
    print(keys.public_pem(public), end="")
    print(f"# key id {keys.key_id(public)}", file=sys.stderr)
    if not args.publish:
        return EXIT_OK
    if station.sync is None:
        print("no server configured (DIGIBANK_STATION_SERVER_URL, _TOKEN)", file=sys.stderr)
        return EXIT_USAGE
    station.sync.publish_key(keys.public_pem(public), station.cfg.station_name or "station")
    result = station.sync.flush()
    if result.remaining:
        print(f"queued; server unreachable: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    print("published on the server (GET /api/v1/stations/keys)", file=sys.stderr)
    return EXIT_OK


def diagnose_named_tablet(station: Station, name: str) -> TabletDiagnosis | IpadDiagnosis | None:
    """Diagnose the tablet ``name`` names: an adb serial, or an iPad's USB serial or UDID
    (through pymobiledevice3); None when neither tool knows it (or neither is installed)."""
    from station.hw.adb import Adb
    from station.hw.ios import Ios, IosError, same_device

    try:
        if name in {d.serial for d in Adb(station.runner).devices()}:
            return station.diagnose_tablet(name)
    except ToolError as exc:
        log.info("no adb answer: %s", exc)
    try:
        ipads = Ios(station.runner).devices()
    except IosError as exc:
        log.info("no pymobiledevice3 answer: %s", exc)
        return None
    if any(same_device(name, d.udid) for d in ipads):
        return station.diagnose_ipad(name)
    return None


def cmd_diagnose(station: Station, args: argparse.Namespace) -> int:
    """Diagnose a disk (SMART, full-surface read scan), an Android tablet (by adb serial) or an
    iPad (by USB serial or UDID)."""
    try:
        dev = station.resolve(args.device)
    except DeviceError:
        # Not a disk: maybe a tablet (never for a /dev path).
        tablet = (
            None if args.device.startswith("/dev/") else diagnose_named_tablet(station, args.device)
        )
        if tablet is None:
            raise
        print(json.dumps(tablet.to_dict(), indent=2))
        # The tablet's own serial (adb's, or the iPad's SerialNumber) is the server's key for it.
        ref = args.device_ref or tablet.info.serial or args.device
        _send(station, ref, tablet_diagnostics_job(tablet))
        return EXIT_OK if tablet.status == "passed" else EXIT_FAILED
    result = station.diagnose(dev, surface_scan=not args.no_scan, on_progress=StderrProgress())
    print(json.dumps(result.to_dict(), indent=2))
    _send(station, args.device_ref, diagnostics_job(result))
    return EXIT_OK if result.status == "passed" else EXIT_FAILED


def cmd_tui(station: Station, args: argparse.Namespace) -> int:
    """Start the Textual TUI (when installed)."""
    try:
        from station.ui.app import run
    except ImportError:
        print("the TUI is not available in this build; use the headless commands", file=sys.stderr)
        return EXIT_USAGE
    result: int = run(station, simulate=args.simulate)
    return result


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``digibank-station``."""
    parser = argparse.ArgumentParser(prog="digibank-station", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log details on stderr")
    # No subcommand starts the TUI on the real hardware.
    parser.set_defaults(func=cmd_tui, simulate=False)
    sub = parser.add_subparsers(dest="command", required=False)
    p = sub.add_parser("list", help="list attached devices")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser(
        "diagnose", help="SMART and full-surface read scan; a tablet by adb serial or iPad UDID"
    )
    p.add_argument("device")
    p.add_argument("--no-scan", action="store_true", help="skip the full-surface read scan")
    p.add_argument(
        "--device-ref", default="", help="serial or asset tag of the device on the server"
    )
    p.set_defaults(func=cmd_diagnose)
    p = sub.add_parser("wipe", help="wipe a device (NIST SP 800-88) and issue a certificate")
    p.add_argument("device")
    p.add_argument(
        "--method",
        default="auto",
        help="overwrite, zeroout, auto (strongest supported) or a Purge name",
    )
    p.add_argument(
        "--confirm", required=True, help="last 4 characters of the serial (or the kernel name)"
    )
    p.add_argument("--asset-tag", default="", help="property number for the certificate")
    p.add_argument(
        "--device-ref", default="", help="serial or asset tag of the device on the server"
    )
    p.set_defaults(func=cmd_wipe)
    p = sub.add_parser("verify", help="verify a certificate offline")
    p.add_argument("file")
    p.add_argument(
        "--public-key", help="trusted public key (PEM or base64); default: this station's"
    )
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("record", help="one signed record for a device with several disks")
    p.add_argument("certificates", nargs="+", help="the disks' certificate files")
    p.add_argument("--asset-tag", required=True, help="the device's property number")
    p.add_argument("--make", default="")
    p.add_argument("--model", default="")
    p.set_defaults(func=cmd_record)
    p = sub.add_parser("intake", help="register a laptop or tablet with the server")
    p.add_argument("--kind", choices=["laptop", "tablet"], required=True)
    p.add_argument("--make", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--serial", required=True)
    p.add_argument("--cpu", default="")
    p.add_argument("--ram-gb", type=float, default=None)
    p.add_argument("--storage-gb", type=float, default=None)
    p.set_defaults(func=cmd_intake)
    p = sub.add_parser("sync", help="send queued results to the server now")
    p.set_defaults(func=cmd_sync)
    p = sub.add_parser("pubkey", help="print the station's public key")
    p.add_argument("--publish", action="store_true", help="also publish it on the hub server")
    p.set_defaults(func=cmd_pubkey)
    add_grade_commands(sub)
    p = sub.add_parser("tui", help="start the technicians' TUI")
    p.add_argument(
        "--simulate", action="store_true", help="simulated hardware for demos and training"
    )
    p.set_defaults(func=cmd_tui)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``digibank-station``."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        station = Station(load_config())
        code: int = args.func(station, args)
        return code
    except SafetyRefusal as exc:
        print("refused:", file=sys.stderr)
        for reason in exc.reasons:
            print(f"  - {reason}", file=sys.stderr)
        return EXIT_REFUSED
    except StationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED if args.command == "verify" else EXIT_USAGE
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
