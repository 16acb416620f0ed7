"""Wipe benchmark: the station's overwrite and verify beside dd, on one 2 GiB loop device, same run.

Run as root: ``.venv/bin/python bench/wipe.py [--size-gib 2] [--rounds 3]``. Prints the
figures (min / median / max MB/s) and the station/dd ratios of the medians (target >= 90 %).
BLKZEROOUT on a loop device only punches holes, so its time is reported and compared to nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from station.blockio import Meter, read_scan, write_zeros  # noqa: E402
from station.hw.blockdev import read_block_device  # noqa: E402
from station.wipe import zero_out  # noqa: E402


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call, started from a clean state (no dirty pages pending)."""
    os.sync()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dd(*args: str) -> None:
    """Run dd quietly; fail loudly."""
    subprocess.run(["dd", *args, "status=none"], check=True)


def station_write(path: str, size: int) -> None:
    """The station's overwrite pass (same code the wipe uses)."""
    fd = os.open(path, os.O_WRONLY | os.O_DIRECT | os.O_EXCL)
    try:
        write_zeros(fd, size, Meter("write", size, None), threading.Event(), lambda: True)
    finally:
        os.close(fd)


def station_verify(path: str, size: int) -> None:
    """The station's full read-back verification pass."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        res = read_scan(
            fd, size, Meter("verify", size, None), threading.Event(), lambda: True, True
        )
    finally:
        os.close(fd)
    if res.bad_regions or res.bytes_done != size:
        raise SystemExit(f"verification failed: {res.bad_regions[:3]}")


def station_zeroout(path: str) -> None:
    """The station's BLKZEROOUT pass."""
    dev = read_block_device(path)
    fd = os.open(path, os.O_WRONLY | os.O_EXCL)
    try:
        zero_out(fd, dev, Meter("write", dev.size_bytes, None), threading.Event())
    finally:
        os.close(fd)


def summary(seconds: list[float], size: int) -> dict[str, float]:
    """min / median / max throughput in MB/s."""
    rates = sorted(size / s / 1e6 for s in seconds)
    return {"min": rates[0], "median": statistics.median(rates), "max": rates[-1]}


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root (loop devices)", file=sys.stderr)
        return 2
    size = int(args.size_gib * (1 << 30))
    names = ("dd_write", "dd_write_fsync", "station_write", "dd_read", "station_verify")
    times: dict[str, list[float]] = {k: [] for k in names}
    zeroout: list[float] = []
    with tempfile.TemporaryDirectory(prefix="wipe-bench-") as tmp:
        backing = Path(tmp) / "disk.img"
        with open(backing, "wb") as fh:
            fh.truncate(size)
        dev = subprocess.run(
            ["losetup", "-f", "--show", str(backing)], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            count = f"count={size // (4 << 20)}"  # stop at the end instead of failing with ENOSPC
            direct_write = ("if=/dev/zero", f"of={dev}", "bs=4M", "oflag=direct", count)
            writes: list[tuple[str, Callable[[], None]]] = [
                ("dd_write", lambda: dd(*direct_write)),
                # The station fsyncs at the end (a wipe must be durable); so does this dd.
                ("dd_write_fsync", lambda: dd(*direct_write, "conv=fsync")),
                ("station_write", lambda: station_write(dev, size)),
            ]
            reads: list[tuple[str, Callable[[], None]]] = [
                (
                    "dd_read",
                    lambda: dd(f"if={dev}", "of=/dev/null", "bs=4M", "iflag=direct", count),
                ),
                ("station_verify", lambda: station_verify(dev, size)),
            ]
            for rnd in range(args.rounds):
                # Rotate who goes first so cache and writeback effects even out.
                for group in (writes, reads):
                    k = rnd % len(group)
                    for name, fn in group[k:] + group[:k]:
                        times[name].append(timed(fn))
                zeroout.append(timed(lambda: station_zeroout(dev)))
        finally:
            subprocess.run(["losetup", "-d", dev], check=False)
    figures = {name: summary(secs, size) for name, secs in times.items()}
    ratios = {
        "write": figures["station_write"]["median"] / figures["dd_write"]["median"],
        "write_vs_dd_fsync": figures["station_write"]["median"]
        / figures["dd_write_fsync"]["median"],
        "verify": figures["station_verify"]["median"] / figures["dd_read"]["median"],
    }
    print(f"loop device {args.size_gib:g} GiB, {args.rounds} rounds; MB/s min / median / max")
    for name, fig in figures.items():
        print(f"  {name:15s} {fig['min']:8.0f} {fig['median']:8.0f} {fig['max']:8.0f}")
    for name, ratio in ratios.items():
        verdict = "OK" if ratio >= 0.9 else "BELOW TARGET"
        print(f"  station/dd {name:17s} {100 * ratio:5.1f} %  (target >= 90 %) {verdict}")
    zs = sorted(zeroout)
    print(
        f"  zero-out (BLKZEROOUT, metadata only on loop) min / median: "
        f"{zs[0]:.3f} / {statistics.median(zs):.3f} s"
    )
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    result = {"size_bytes": size, "figures_mb_s": figures, "ratios": ratios, "zeroout_s": zeroout}
    (out / f"wipe-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
