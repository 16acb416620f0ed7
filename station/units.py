"""Human-readable sizes, rates and durations for the CLI and the TUI."""

from __future__ import annotations


def human_bytes(nbytes: float) -> str:
    """1234567 -> '1.2 MB' (decimal units, as drive makers use)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(nbytes) < 1000 or unit == "TB":
            return f"{int(nbytes)} B" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.1f} TB"


def human_eta(seconds: float | None) -> str:
    """Seconds -> 'h:mm:ss' or 'm:ss'; '?' when unknown."""
    if seconds is None:
        return "?"
    s = int(seconds)
    hours, rest = divmod(s, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
