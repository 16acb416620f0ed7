"""`digibank-agent`: enroll, run, show, status."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from types import FrameType

from agent import __version__
from agent.collect import build_report
from agent.collect.device import DeviceCollector
from agent.config import AgentConfig, ConfigError, load_config
from agent.enroll import EnrollError, request_enrollment, store_enrollment
from agent.fsutil import ensure_private_dir
from agent.notify import DesktopNotifier
from agent.runner import SubprocessRunner
from agent.service import SPOOL_DIR, Agent
from agent.spool import spool_summary
from agent.state import SequenceStore, load_interval, read_status

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digibank-agent", description="Reports this device's health to its digibank hub."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--state-dir", type=Path, help="state folder (default: per OS)")
    parser.add_argument("--config", type=Path, help="settings file (default: STATE/agent.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    enroll = sub.add_parser("enroll", help="trade a one-time code for this device's credentials")
    enroll.add_argument("--server", required=True, help="the hub's URL, e.g. https://hub.example")
    enroll.add_argument("--code", required=True, help="the one-time enrollment code")
    enroll.add_argument("--server-ca", type=Path, help="CA file to verify the hub's HTTPS")
    sub.add_parser("run", help="collect and send reports until stopped")
    show = sub.add_parser("show", help="print the report this device would send now")
    show.add_argument("--compact", action="store_true", help="the exact bytes sent on the wire")
    status = sub.add_parser("status", help="last successful send, spool size, counters")
    status.add_argument("--json", action="store_true", help="as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `digibank-agent` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.state_dir, args.config)
        if args.command == "enroll":
            return _enroll(config, args.server, args.code, args.server_ca)
        if args.command == "run":
            return _run(config)
        if args.command == "show":
            return _show(config, args.compact)
        return _status(config, args.json)
    except (ConfigError, EnrollError) as exc:
        print(f"digibank-agent: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"digibank-agent: {exc.filename or ''} {exc.strerror or exc}", file=sys.stderr)
        return 1


def _enroll(config: AgentConfig, server: str, code: str, server_ca: Path | None) -> int:
    enrollment = request_enrollment(server, code, server_ca)
    ensure_private_dir(config.state_dir)
    stored = store_enrollment(config, enrollment)
    print(f"enrolled as {stored.device_id}; credentials in {stored.state_dir}")
    return 0


def _collector(config: AgentConfig) -> DeviceCollector:
    return DeviceCollector(SubprocessRunner(), power_supply_dir=config.power_supply_dir)


def _run(config: AgentConfig) -> int:
    if not config.enrolled:
        print("digibank-agent: not enrolled; run `digibank-agent enroll` first", file=sys.stderr)
        return 2
    ensure_private_dir(config.state_dir)
    runner = SubprocessRunner()
    agent = Agent(config, _collector(config), notifier=DesktopNotifier(runner))

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        agent.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    agent.run()
    return 0


def _show(config: AgentConfig, compact: bool) -> int:
    # Reading the counter without taking a number: `show` must not leave a gap in the sequence.
    if config.enrolled:
        seq = SequenceStore(config.state_dir, floor=spool_summary(_spool(config))[2]).peek()
    else:
        seq = 0
    report = build_report(_collector(config).collect(), config.report_device_id, seq)
    if compact:
        sys.stdout.buffer.write(report.to_json() + b"\n")
    else:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    return 0


def _spool(config: AgentConfig) -> Path:
    return config.state_dir / SPOOL_DIR


def _status(config: AgentConfig, as_json: bool) -> int:
    count, size, _ = spool_summary(_spool(config))
    info = {
        "enrolled": config.enrolled,
        "device_id": config.device_id,
        "broker": f"{config.mqtt_host}:{config.mqtt_port}" if config.enrolled else None,
        "interval_s": load_interval(config.state_dir) or config.interval_s,
        "spool_reports": count,
        "spool_bytes": size,
        **asdict(read_status(config.state_dir)),
    }
    if as_json:
        print(json.dumps(info, indent=2))
        return 0
    labels = {
        "last_sent_at": "last successful send",
        "spool_reports": "reports waiting",
        "spool_bytes": "bytes waiting",
        "dropped": "dropped (spool full)",
        "refused": "refused by the broker (kept)",
        "rejected": "rejected by the broker (dropped)",
        "undelivered": "no hub subscribed (kept, resent)",
        "corrupt": "damaged in the spool (removed)",
    }
    for key, value in info.items():
        shown = value if value is not None else "never" if key == "last_sent_at" else "-"
        print(f"{labels.get(key, key.replace('_', ' ')):34} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
