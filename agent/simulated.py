"""Simulated devices for the demo: the real agent with a made-up collector, many per process.

Run as `python -m agent.simulated SPEC.json` by `server.demo`. Each device enrolls over HTTP
with its own one-time code (the real enrollment path), gets its own MQTT account, and runs
the real `agent.service.Agent` (sequence numbers, spool, MQTT 5 session, Last Will) in its
own thread. Only the health facts are invented: batteries wear, disks fill, a few disks
fail, a few machines run hot, and some devices go offline for a while and come back.
"""

from __future__ import annotations

import json
import logging
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.collect.snapshot import Snapshot
from agent.config import AgentConfig
from agent.enroll import EnrollError, request_enrollment, store_enrollment
from agent.report import Battery, Disk, Memory, Temperatures
from agent.service import Agent

log = logging.getLogger(__name__)

GB = 10**9
DISK_BYTES = 256 * GB


@dataclass
class Profile:
    """How one simulated laptop ages: starting figures and change per report."""

    battery_health: float
    battery_wear: float
    charge: float
    free_bytes: float
    fill_bytes: float
    failing_after: int | None  # reports before sectors start to go bad (None: healthy disk)
    hot: bool
    offline_every_s: float | None  # goes away for a while this often (None: always on)

    @classmethod
    def random(cls, rng: random.Random) -> Profile:
        """A plausible device; about one in eight wears out, fills up, fails or runs hot."""
        kind = rng.random()
        health = rng.uniform(84, 99)
        wear = rng.uniform(0.005, 0.03)
        free = rng.uniform(0.25, 0.7) * DISK_BYTES
        fill = rng.uniform(0.02, 0.2) * GB
        if kind < 0.10:  # an old battery close to the warning line, or already past it
            health, wear = rng.uniform(76, 82), rng.uniform(0.15, 0.4)
        elif kind < 0.18:  # a disk almost full and filling
            free, fill = rng.uniform(0.104, 0.115) * DISK_BYTES, rng.uniform(0.3, 0.8) * GB
        return cls(
            battery_health=health,
            battery_wear=wear,
            charge=rng.uniform(20, 100),
            free_bytes=free,
            fill_bytes=fill,
            failing_after=rng.randint(2, 10) if 0.18 <= kind < 0.22 else None,
            hot=0.22 <= kind < 0.25,
            offline_every_s=rng.uniform(90, 240) if 0.25 <= kind < 0.33 else None,
        )


class SimCollector:
    """A collector whose facts follow a Profile; each call is one report's worth of ageing."""

    def __init__(self, profile: Profile, rng: random.Random) -> None:
        self.p = profile
        self.rng = rng
        self.reports = 0
        self.sectors = 0
        self.uptime_s = rng.randint(60, 36000)

    def collect(self) -> Snapshot:
        """The next snapshot: battery a little more worn, disk a little fuller."""
        p, rng = self.p, self.rng
        self.reports += 1
        self.uptime_s += 300
        p.battery_health = max(30.0, p.battery_health - p.battery_wear)
        p.charge = p.charge - rng.uniform(1, 6) if p.charge > 15 else 100.0
        p.free_bytes = max(0.5 * GB, p.free_bytes - p.fill_bytes * rng.uniform(0.5, 1.5))
        if p.failing_after is not None and self.reports > p.failing_after:
            self.sectors += rng.randint(4, 40)
        design = 50.0
        cpu = rng.uniform(91, 96) if p.hot else rng.uniform(38, 72)
        disk = Disk(
            kind="nvme",
            size_bytes=DISK_BYTES,
            free_bytes=int(p.free_bytes),
            smart_passed=self.sectors < 200,
            power_on_hours=4000 + self.reports,
            temperature_c=round(rng.uniform(33, 48), 1),
            reallocated_sectors=self.sectors,
            pending_sectors=self.sectors // 4,
            percentage_used=int(8 + self.reports / 50),
        )
        return Snapshot(
            measured_at=datetime.now(UTC),
            os_name="Linux",
            os_version="Debian 12",
            uptime_s=self.uptime_s,
            battery=Battery(
                charge_pct=round(p.charge, 1),
                plugged_in=p.charge > 95,
                design_capacity_wh=design,
                full_capacity_wh=round(design * p.battery_health / 100, 2),
                cycle_count=300 + self.reports,
                health_pct=round(p.battery_health, 1),
                status="Discharging",
            ),
            disks=(disk,),
            memory=Memory(total_bytes=8 * 2**30, available_bytes=rng.randint(2, 6) * 2**30),
            temperatures=Temperatures(cpu_c=round(cpu, 1), disk_c=disk.temperature_c),
        )


class SimDevice:
    """One simulated device: its agent thread, restarted after an offline spell."""

    def __init__(self, config: AgentConfig, profile: Profile, rng: random.Random) -> None:
        self.config = config
        self.profile = profile
        self.collector = SimCollector(profile, rng)
        self.rng = rng
        self.agent: Agent | None = None
        self.thread: threading.Thread | None = None
        self.back_at = 0.0
        self.leave_at = time.monotonic() + (profile.offline_every_s or float("inf"))

    def start(self) -> None:
        """Start (or restart) the real agent on the same state folder."""
        self.agent = Agent(self.config, self.collector, rng=self.rng)
        self.thread = threading.Thread(target=self.agent.run, name=f"agent-{self.config.device_id}")
        self.thread.start()

    def stop(self) -> None:
        """Stop the agent (it says `offline` and disconnects)."""
        if self.agent is not None and self.thread is not None:
            self.agent.stop()
            self.thread.join(timeout=10)
        self.agent = self.thread = None

    def tick(self, now: float) -> None:
        """Go offline or come back when it is time."""
        if self.agent is not None and now >= self.leave_at:
            log.info("device %s goes offline for a while", self.config.device_id)
            self.stop()
            self.back_at = now + self.rng.uniform(45, 120)
        elif self.agent is None and now >= self.back_at and self.back_at:
            log.info("device %s is back", self.config.device_id)
            self.start()
            self.leave_at = now + (self.profile.offline_every_s or float("inf"))


def enroll_all(spec: dict[str, Any]) -> list[SimDevice]:
    """Trade each device's code at the hub and prepare its agent."""
    devices = []
    base = Path(spec["state_dir"])
    for entry in spec["devices"]:
        rng = random.Random(entry["seed"])
        state = base / f"device-{entry['device_id']}"
        config = AgentConfig(
            state_dir=state,
            interval_s=spec["interval_s"],
            backoff_initial_s=1.0,
            backoff_max_s=20.0,
            keepalive_s=20,
        )
        try:
            enrollment = request_enrollment(spec["server"], entry["code"])
        except EnrollError as exc:
            log.error("device %s could not enroll: %s", entry["device_id"], exc)
            continue
        config = store_enrollment(config, enrollment)
        # The interval is the demo's (shorter than an agent.toml may set: reports every few s).
        config = replace(config, interval_s=spec["interval_s"])
        devices.append(SimDevice(config, Profile.random(rng), rng))
    return devices


def run(spec_path: Path) -> int:
    """Enroll and run this process's devices until SIGTERM or SIGINT."""
    spec = json.loads(spec_path.read_text())
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    devices = enroll_all(spec)
    spec_path.unlink(missing_ok=True)  # it held one-time codes; they are spent now
    log.info("%d simulated devices enrolled; starting their agents", len(devices))
    for device in devices:
        if stop.is_set():
            break
        device.start()
    while not stop.wait(1.0):
        now = time.monotonic()
        for device in devices:
            device.tick(now)
    log.info("stopping %d simulated devices", len(devices))
    # Ask every agent first, then wait: stopping them one by one would take minutes.
    for device in devices:
        if device.agent is not None:
            device.agent.stop()
    for device in devices:
        device.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m agent.simulated SPEC.json`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m agent.simulated SPEC.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s sim %(levelname)s %(message)s")
    return run(Path(args[0]))


if __name__ == "__main__":
    sys.exit(main())
