"""CLI commands for the end of refurbishment: grade, ready, label (registered by station.cli)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from station import grading
from station.errors import StationError
from station.label import label_pdf, qr_png
from station.printing import PrintError
from station.reasons import english


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def cmd_grade(station: Any, args: argparse.Namespace) -> int:
    """Grade a device (cosmetic, functional checklist, battery); exit 0 only if lendable."""
    results: dict[str, bool | None] = {}
    for value, names in ((True, args.ok), (False, args.faulty), (None, args.na)):
        for name in _items(names):
            results[name] = value
    try:
        checklist = grading.Checklist(results)
        grades = grading.grade(
            args.cosmetic, checklist, args.battery_health, args.battery_cycles,
            grading.load_rule(Path(args.rule) if args.rule else None),
        )  # fmt: skip
    except ValueError as exc:
        raise StationError(str(exc)) from exc
    record = grading.condition_record(grades, checklist, args.notes, station.cfg.technician)
    kept = {**record, "lendable": grades.lendable, "reasons": english(grades.reasons)}
    station.results.save("grade", args.asset_tag, kept)
    if station.sync is not None:
        station.sync.condition(args.asset_tag, record)
    print(json.dumps(kept, indent=2))
    return 0 if grades.lendable else 1


def _latest_grade(station: Any, asset_tag: str) -> grading.Grades | None:
    for path in reversed(station.results.list("grade")):
        stored = json.loads(path.read_text())
        if stored.get("subject") == asset_tag:
            r = stored["result"]
            return grading.Grades(r["cosmetic_grade"], r["functional_grade"], r["battery_grade"],
                                  r["lendable"], tuple(r["reasons"]))  # fmt: skip
    return None


def wipe_statuses(station: Any, asset_tag: str) -> list[str]:
    """The latest verified wipe status of each disk certified for this asset tag."""
    latest: dict[str, tuple[str, str]] = {}
    for path in sorted(station.cfg.certificate_dir.glob("*.json")):
        try:
            body = station.verify_file(path).body
        except StationError:
            continue  # a tampered or foreign file proves nothing
        media = body.get("media", {})
        if media.get("property_number") != asset_tag or body.get("record") == "device":
            continue
        disk = media.get("serial_number") or media.get("device_name", "")
        ended = body.get("sanitization", {}).get("ended_at", "")
        if disk not in latest or ended >= latest[disk][0]:
            latest[disk] = (ended, body.get("status", ""))
    return [status for _, status in latest.values()]


def cmd_ready(station: Any, args: argparse.Namespace) -> int:
    """Mark a device ready: only if graded lendable and every disk's latest wipe passed."""
    grades = _latest_grade(station, args.asset_tag)
    statuses = wipe_statuses(station, args.asset_tag)
    blockers: list[object] = ["not graded yet"] if grades is None else []
    if grades is not None:
        blockers += grading.ready_blockers(grades, statuses)
    elif not statuses:
        blockers.append("no wipe recorded")
    if blockers:
        print("not ready:", file=sys.stderr)
        for blocker in blockers:
            print(f"  - {blocker}", file=sys.stderr)
        return 1
    if station.sync is not None:
        station.sync.transition(
            args.asset_tag, "ready", "graded lendable; every disk wiped and verified"
        )
    print(f"{args.asset_tag}: ready")
    return 0


def cmd_label(station: Any, args: argparse.Namespace) -> int:
    """Write the asset tag label as PNG and PDF; send the PDF to ``label_printer`` if set.

    stdout holds the two paths; what the printer did goes to stderr. Exit 1 if the
    printer did not take the label (the files are written all the same); a warning, exit 0,
    if a stopped queue took it (it prints once the queue is resumed: printing again would
    print it twice).
    """
    out = Path(args.out) if args.out else station.cfg.data_dir / "labels"
    png = qr_png(args.asset_tag, out / f"{args.asset_tag}.png")
    pdf = label_pdf(args.asset_tag, out / f"{args.asset_tag}.pdf", tuple(args.line or ()))
    print(png)
    print(pdf, flush=True)
    if args.no_print:
        return 0
    try:
        job = station.print_label(pdf)
    except PrintError as exc:
        print(f"error: label not printed: {exc}", file=sys.stderr)
        return 1
    if job is not None:
        print(f"warning: {job}" if job.stopped else job, file=sys.stderr)
    return 0


def add_commands(sub: Any) -> None:
    """Register grade, ready and label on the CLI's subparsers."""
    p = sub.add_parser("grade", help="grade a device: cosmetic, functional checklist, battery")
    p.add_argument("--asset-tag", required=True)
    p.add_argument("--cosmetic", required=True, choices=grading.COSMETIC_GRADES)
    checks = ", ".join(grading.CHECKLIST_ITEMS)
    p.add_argument("--ok", default="", help=f"comma-separated items that work ({checks})")
    p.add_argument("--faulty", default="", help="comma-separated items that are faulty")
    p.add_argument("--na", default="", help="comma-separated items not applicable")
    p.add_argument("--battery-health", type=float, default=None, help="full/design capacity, %%")
    p.add_argument("--battery-cycles", type=int, default=None)
    p.add_argument("--notes", default="")
    p.add_argument("--rule", default="", help="TOML file with a [grading] table")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("ready", help="mark a device ready (graded lendable, wipes verified)")
    p.add_argument("--asset-tag", required=True)
    p.set_defaults(func=cmd_ready)
    p = sub.add_parser(
        "label",
        help="write the asset tag label (QR code) as PNG and PDF; print it on label_printer",
    )
    p.add_argument("asset_tag")
    p.add_argument("--out", default="", help="folder (default: <data_dir>/labels)")
    p.add_argument("--line", action="append", help="a text line under the tag (up to 3)")
    p.add_argument(
        "--no-print", action="store_true", help="only write the files, even with label_printer"
    )
    p.set_defaults(func=cmd_label)
