"""System facts: OS name and version, uptime. Never the host name."""

from __future__ import annotations

import platform
import time
from pathlib import Path

OS_RELEASE = Path("/etc/os-release")


def parse_os_release(text: str) -> dict[str, str]:
    """Parse os-release KEY=value lines (values optionally quoted)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key] = value.strip().strip("\"'")
    return out


def os_name_version(os_release: Path = OS_RELEASE) -> tuple[str | None, str | None, list[str]]:
    """(name, version, errors): Linux from os-release NAME and VERSION_ID, else `platform`."""
    system = platform.system()
    if system == "Linux":
        try:
            info = parse_os_release(os_release.read_text(encoding="utf-8"))
        except OSError:
            return "Linux", None, ["system: os-release not readable"]
        return (info.get("NAME") or "Linux")[:64], (info.get("VERSION_ID") or None), []
    if system == "Windows":
        # release is "10"/"11", version the build ("10.0.22631"): the build tells 10 from 11.
        return "Windows", f"{platform.release()} ({platform.version()})"[:64], []
    if system == "Darwin":
        return "macOS", platform.mac_ver()[0] or None, []
    return system or None, platform.release()[:64] or None, []


def uptime_seconds() -> int:
    """Seconds since the OS booted."""
    import psutil

    return max(0, int(time.time() - psutil.boot_time()))
