"""TUI responsiveness benchmark: key press -> screen update latency, idle vs four wipes running.

Run as root: ``.venv/bin/python bench/tui.py [--size-mib 1024] [--presses 60] [--modes
buffered,direct]``. The real app runs headless (``App.run_test``, 80x24) on real detection;
four loop devices over sparse files in tmp are attached while it runs (plug -> row latency
is timed too), once per loop mode: ``buffered`` (losetup's default: the kernel's loop
workers copy every byte through the page cache of the backing file, CPU a real disk does
not cost) and ``direct`` (``losetup --direct-io=on``, closer to a real disk). A key press
(cursor down/up in the device table) is sent through the app's driver, as a terminal sends
it, and timed until the app hands the display a frame showing the cursor on the new row.
The same measurement runs first with no wipes (baseline), then while four wipes started
from the UI run (only samples taken while all four run count). p50/p95/max, the share
under 100 ms and the ratios are printed and saved in bench/results/. 1 GiB per device by
default: four 256 MiB wipes end in about a second here, too soon for enough samples.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import Log  # noqa: E402

from station.config import StationConfig  # noqa: E402
from station.hw.udev import DeviceWatcher, StationEvent  # noqa: E402
from station.service import Station  # noqa: E402
from station.ui.app import StationApp  # noqa: E402
from station.ui.dialogs import WipeDialog  # noqa: E402

TARGET_MS = 100.0


def backing_files(folder: Path, count: int, size_mib: int) -> list[Path]:
    """Sparse files to put the loop devices on."""
    files = []
    for i in range(count):
        backing = folder / f"disk{i}.img"
        with open(backing, "wb") as fh:
            fh.truncate(size_mib << 20)
        files.append(backing)
    return files


@contextmanager
def detaching() -> Iterator[list[str]]:
    """Collects attached loop devices; always detaches them."""
    paths: list[str] = []
    try:
        yield paths
    finally:
        for path in paths:
            subprocess.run(["losetup", "-d", path], check=False, capture_output=True)


def losetup(backing: Path, direct_io: bool = False) -> str:
    """Attach a loop device over ``backing`` (with O_DIRECT to the file if ``direct_io``)."""
    dio = f"--direct-io={'on' if direct_io else 'off'}"
    out = subprocess.run(
        ["losetup", "-f", "--show", dio, str(backing)], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


class FrameClock:
    """Timestamps each frame the app hands to its display, with the cursor row it shows."""

    def __init__(self, app: StationApp) -> None:
        self.frames: list[tuple[float, int]] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                self.frames.append((time.perf_counter(), app.table.cursor_row))
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    def first_showing(self, row: int, since: float) -> float | None:
        """The first frame at or after ``since`` that shows the cursor on ``row``."""
        for t, shown in reversed(self.frames):
            if t < since:
                return None
            if shown == row and all(r != row for tt, r in self.frames if since <= tt < t):
                return t
        return None


class OnlyThese:
    """The real watcher, passing on only this run's loop devices (the machine is shared)."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)
        self.names: set[str] = set()
        self.on_event: Callable[[StationEvent], None] = lambda event: None
        self.inner = DeviceWatcher(self._filter, include_loop=True)

    def _ours(self, event: StationEvent) -> bool:
        device = getattr(event, "device", None)
        if device is not None and device.backing_file.startswith(self.folder):
            self.names.add(device.name)
        return getattr(device, "name", None) in self.names or (
            getattr(event, "name", None) in self.names
        )

    def _filter(self, event: StationEvent) -> None:
        if self._ours(event):
            self.on_event(event)

    def start(self) -> list[StationEvent]:
        """Start the real watcher; only our devices' events."""
        return [e for e in self.inner.start() if self._ours(e)]

    def stop(self) -> None:
        """Stop the real watcher."""
        self.inner.stop()


async def press_latency(app: StationApp, clock: FrameClock, key: str, target_row: int) -> float:
    """Send one key as the terminal driver would; seconds until a frame shows its effect."""
    assert app._driver is not None
    t0 = time.perf_counter()
    app._driver.send_message(events.Key(key, None))
    while True:
        await asyncio.sleep(0.001)
        frame = clock.first_showing(target_row, t0)
        if frame is not None:
            return frame - t0
        if time.perf_counter() - t0 > 5:
            raise RuntimeError("no screen update within 5 s")


async def measure(
    app: StationApp, clock: FrameClock, presses: int, while_running: bool
) -> list[float]:
    """Alternate down/up ``presses`` times; with ``while_running``, only while all wipes run."""
    samples: list[float] = []
    app.table.move_cursor(row=0)
    await asyncio.sleep(0.1)
    for i in range(presses):
        if while_running and not all(rec.busy for rec in app.records.values()):
            break
        key, row = ("down", 1) if i % 2 == 0 else ("up", 0)
        samples.append(await press_latency(app, clock, key, row))
        await asyncio.sleep(0.02)  # a fast typist, not a flood
    return samples


def stats(samples: list[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    if not samples:
        nan = float("nan")
        return {"n": 0, "p50": nan, "p95": nan, "max": nan, "within_target": nan}
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    within = sum(1 for x in ms if x < TARGET_MS) / len(ms)
    return {
        "n": len(ms),
        "p50": statistics.median(ms),
        "p95": p95,
        "max": ms[-1],
        "within_target": within,
    }


async def wait(pilot: Pilot[int], predicate: Any, timeout: float = 30.0) -> None:
    """Let the app run until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {predicate}")
        await asyncio.sleep(0.02)


async def send_keys(app: StationApp, *keys: str) -> None:
    """Type keys through the driver, as a terminal does (Pilot.press waits for an idle CPU,
    which never comes while wipes run)."""
    assert app._driver is not None
    for key in keys:
        char = key if len(key) == 1 else None
        app._driver.send_message(events.Key(key, char))
        await asyncio.sleep(0.005)


async def start_wipe(pilot: Pilot[int], app: StationApp, name: str) -> None:
    """Select a device and wipe it through the dialog, as a technician would."""
    key = app.attached[name]
    app.table.move_cursor(row=app.table.get_row_index(key))
    await wait(pilot, lambda: app.selected() is app.records[key])
    await send_keys(app, "w")
    await wait(pilot, lambda: isinstance(app.screen, WipeDialog))
    await wait(pilot, lambda: getattr(app.focused, "id", None) == "confirm")
    await send_keys(app, *name, "enter")
    try:
        await wait(pilot, lambda: app.records[key].busy)
    except RuntimeError:
        print("\n".join(app.query_one("#log", Log).lines[-12:]), file=sys.stderr)
        raise


async def attach_all(
    app: StationApp, files: list[Path], paths: list[str], direct_io: bool
) -> list[float]:
    """Attach the devices one by one; seconds from losetup's return to the row in the table."""
    latencies = []
    for backing in files:
        path = losetup(backing, direct_io)
        t0 = time.perf_counter()
        paths.append(path)
        name = Path(path).name
        while name not in app.attached or app.attached[name] not in app.table.rows:
            await asyncio.sleep(0.002)
            if time.perf_counter() - t0 > 10:
                raise RuntimeError(f"{name} did not appear within 10 s")
        latencies.append(time.perf_counter() - t0)
    return latencies


async def run_bench(
    files: list[Path], data: Path, presses: int, direct_io: bool = False
) -> dict[str, Any]:
    """Attach (timed), baseline key latency, then the same while four wipes run."""
    cfg = StationConfig(
        data_dir=data, technician="bench", station_name="bench", allow_loop_devices=True
    )
    app = StationApp(Station(cfg), OnlyThese(files[0].parent), language="en")
    with detaching() as paths:
        async with app.run_test(size=(80, 24)) as pilot:
            await asyncio.sleep(0.5)
            attach = await attach_all(app, files, paths, direct_io)
            names = [Path(p).name for p in paths]
            clock = FrameClock(app)
            baseline = await measure(app, clock, presses, while_running=False)
            started = time.perf_counter()
            for name in names:
                await start_wipe(pilot, app, name)
            loaded = await measure(app, clock, presses, while_running=True)
            await wait(pilot, lambda: all(not r.busy for r in app.records.values()), 600)
            wipe_s = time.perf_counter() - started
            states = [app.records[app.attached[n]].last_wipe for n in names]
    return {
        "attach_to_row": stats(attach),
        "baseline": stats(baseline),
        "wiping": stats(loaded),
        "wipe_s": wipe_s,
        "states": states,
    }


def report(mode: str, size_mib: int, result: dict[str, Any]) -> bool:
    """Print one loop mode's figures; True if the target is met and every wipe passed."""
    base, load, attach = result["baseline"], result["wiping"], result["attach_to_row"]
    print(f"loop mode {mode}")
    if load["n"] == 0:
        print("  the wipes ended before a key could be timed: use a larger --size-mib")
        return False
    print(
        f"  plug -> row in table: p50 {attach['p50']:.0f} ms, max {attach['max']:.0f} ms "
        f"(n={attach['n']}, target < 1000 ms)"
    )
    print(f"  four wipes of {size_mib} MiB: {result['wipe_s']:.1f} s, {result['states']}")
    for label, s in (("no wipes", base), ("4 wipes ", load)):
        print(
            f"  {label}: key->screen p50 {s['p50']:6.1f} ms  p95 {s['p95']:6.1f} ms  "
            f"max {s['max']:6.1f} ms  <100 ms: {100 * s['within_target']:.0f} %  (n={s['n']})"
        )
    print(
        f"  ratio wiping/baseline: p50 {load['p50'] / base['p50']:.2f}x, "
        f"p95 {load['p95'] / base['p95']:.2f}x; "
        f"target p95 < {TARGET_MS:.0f} ms: {'met' if load['p95'] < TARGET_MS else 'NOT met'}"
    )
    return bool(load["p95"] < TARGET_MS and all(s == "passed" for s in result["states"]))


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--modes", default="buffered,direct", help="loop modes, comma-separated")
    parser.add_argument("--dir", help="folder for the backing files (O_DIRECT for direct mode)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := set(modes) - {"buffered", "direct"}:
        parser.error(f"unknown loop modes: {', '.join(sorted(unknown))}")
    results: dict[str, dict[str, Any]] = {}
    for mode in modes:
        with tempfile.TemporaryDirectory(prefix="tui-bench-", dir=args.dir) as tmp:
            folder = Path(tmp)
            files = backing_files(folder, 4, args.size_mib)
            results[mode] = asyncio.run(
                run_bench(files, folder / "station", args.presses, direct_io=mode == "direct")
            )
    ok = [report(mode, args.size_mib, result) for mode, result in results.items()]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (out / f"tui-{stamp}.json").write_text(
        json.dumps({"size_mib": args.size_mib, "modes": results}, indent=2)
    )
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
