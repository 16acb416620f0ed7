"""Wipe benchmark: the station's overwrite and verify beside dd, on one 2 GiB loop device, same run.

Run as root: ``.venv/bin/python bench/wipe.py [--size-gib 2] [--rounds 3] [--modes buffered,direct]``.
Prints the figures (min / median / max MB/s) and the station/dd ratios of the medians (target
>= 90 %) for each loop mode:

- ``buffered`` (losetup's default): the loop device writes into the page cache of its backing
  file, so ``dd oflag=direct`` ends when the data is in RAM, while a flush (which the station
  must do before it signs a certificate; so does ``dd conv=fsync``) waits for the disk below.
- ``direct`` (``losetup --direct-io=on``): the loop device reads and writes its backing file
  with O_DIRECT, as a real disk has no page cache below it; dd and the station both reach the
  disk. Needs a backing file on a filesystem with O_DIRECT (not tmpfs): ``--dir``, by default
  the first of $TMPDIR, /var/tmp and the repository that has it.

The backing file is filled once before timing (a real disk has no holes) and again after each
zero-out, which on a loop device only punches holes: its time is reported, compared to nothing.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def supports_direct_io(folder: Path) -> bool:
    """True if files in ``folder`` open with O_DIRECT (tmpfs says EINVAL)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder) as probe:
            os.close(os.open(probe.name, os.O_RDWR | os.O_DIRECT))
        return True
    except OSError:
        return False


def backing_dir(wanted: str | None) -> Path:
    """The folder for the backing file: ``--dir``, or the first with O_DIRECT."""
    if wanted:
        return Path(wanted)
    for folder in (Path(tempfile.gettempdir()), Path("/var/tmp"), ROOT):
        if supports_direct_io(folder):
            return folder
    raise SystemExit("no folder with O_DIRECT for the backing file: pass --dir")


@contextmanager
def loop_device(backing: Path, direct_io: bool) -> Iterator[str]:
    """A loop device over ``backing`` in the given mode; always detached."""
    dev = subprocess.run(
        ["losetup", "-f", "--show", f"--direct-io={'on' if direct_io else 'off'}", str(backing)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    try:
        dio = Path(f"/sys/block/{Path(dev).name}/loop/dio").read_text().strip()
        if dio != ("1" if direct_io else "0"):
            raise SystemExit(f"{dev}: asked for direct-io={direct_io}, the kernel says dio={dio}")
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)


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


def bench_mode(dev: str, size: int, rounds: int) -> dict[str, Any]:
    """All rounds on one loop device: dd and the station, writes then reads, then zero-out."""
    count = f"count={size // (4 << 20)}"  # stop at the end instead of failing with ENOSPC
    direct_write = ("if=/dev/zero", f"of={dev}", "bs=4M", "oflag=direct", count)
    direct_read = (f"if={dev}", "of=/dev/null", "bs=4M", "iflag=direct", count)

    def fill() -> None:  # untimed: allocate every block of the backing file, as on a disk
        dd(*direct_write, "conv=fsync")

    writes: list[tuple[str, Callable[[], None]]] = [
        ("dd_write", lambda: dd(*direct_write)),
        # The station fsyncs at the end (a wipe must be durable); so does this dd.
        ("dd_write_fsync", lambda: dd(*direct_write, "conv=fsync")),
        ("station_write", lambda: station_write(dev, size)),
    ]
    reads: list[tuple[str, Callable[[], None]]] = [
        ("dd_read", lambda: dd(*direct_read)),
        ("station_verify", lambda: station_verify(dev, size)),
    ]
    times: dict[str, list[float]] = {name: [] for name, _ in writes + reads}
    zeroout: list[float] = []
    fill()
    for rnd in range(rounds):
        # Rotate who goes first so cache and writeback effects even out.
        for group in (writes, reads):
            k = rnd % len(group)
            for name, fn in group[k:] + group[:k]:
                times[name].append(timed(fn))
        zeroout.append(timed(lambda: station_zeroout(dev)))
        fill()
    figures = {name: summary(secs, size) for name, secs in times.items()}
    ratios = {
        "write": figures["station_write"]["median"] / figures["dd_write"]["median"],
        "write_vs_dd_fsync": figures["station_write"]["median"]
        / figures["dd_write_fsync"]["median"],
        "verify": figures["station_verify"]["median"] / figures["dd_read"]["median"],
    }
    return {
        "commands": {
            "dd_write": "dd " + " ".join(direct_write),
            "dd_write_fsync": "dd " + " ".join(direct_write) + " conv=fsync",
            "dd_read": "dd " + " ".join(direct_read),
        },
        "figures_mb_s": figures,
        "ratios": ratios,
        "zeroout_s": zeroout,
    }


def report(mode: str, result: dict[str, Any]) -> None:
    """Print one mode's figures and ratios."""
    print(f"loop mode {mode}; MB/s min / median / max")
    for name, command in result["commands"].items():
        print(f"  {name:15s} = {command}")
    for name, fig in result["figures_mb_s"].items():
        print(f"  {name:15s} {fig['min']:8.0f} {fig['median']:8.0f} {fig['max']:8.0f}")
    for name, ratio in result["ratios"].items():
        verdict = "OK" if ratio >= 0.9 else "BELOW TARGET"
        print(f"  station/dd {name:17s} {100 * ratio:5.1f} %  (target >= 90 %) {verdict}")
    zs = sorted(result["zeroout_s"])
    print(
        f"  zero-out (BLKZEROOUT, metadata only on loop) min / median: "
        f"{zs[0]:.3f} / {statistics.median(zs):.3f} s"
    )


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="buffered,direct", help="loop modes, comma-separated")
    parser.add_argument("--dir", help="folder for the backing file (O_DIRECT for direct mode)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root (loop devices)", file=sys.stderr)
        return 2
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(modes) - {"buffered", "direct"}:
        parser.error(f"unknown loop modes: {', '.join(sorted(unknown))}")
    size = int(args.size_gib * (1 << 30))
    folder = backing_dir(args.dir)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="wipe-bench-", dir=folder) as tmp:
        backing = Path(tmp) / "disk.img"
        with open(backing, "wb") as fh:
            fh.truncate(size)
        for mode in modes:
            with loop_device(backing, direct_io=mode == "direct") as dev:
                results[mode] = bench_mode(dev, size, args.rounds)
    print(f"loop device {args.size_gib:g} GiB over a file in {folder}, {args.rounds} rounds")
    for mode, result in results.items():
        report(mode, result)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    doc = {"size_bytes": size, "backing_dir": str(folder), "rounds": args.rounds, "modes": results}
    (out / f"wipe-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
