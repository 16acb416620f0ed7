"""The engine runs headless: importing it loads no UI framework (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

ENGINE = [
    "station.service", "station.jobs", "station.wipe", "station.purge", "station.safety",
    "station.certificate", "station.diagnostics", "station.sync", "station.grading",
    "station.label", "station.tablets", "station.hw.udev", "station.hw.simulated", "station.cli",
]  # fmt: skip


def test_engine_imports_no_textual():
    code = (
        "import importlib, sys\n"
        f"for name in {ENGINE!r}: importlib.import_module(name)\n"
        "ui = ('textual', 'server')  # (rich comes with httpx's CLI, not ours)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ui))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
