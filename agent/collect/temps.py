"""Temperatures: the hottest CPU and disk sensors the OS exposes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from agent.report import Temperatures

# hwmon driver names (psutil's keys) for CPU packages and for disks.
CPU_SENSORS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal", "soc_thermal")
FALLBACK_CPU_SENSORS = ("acpitz", "thinkpad")
DISK_SENSORS = ("nvme", "drivetemp")

Readings = Mapping[str, Iterable[float]]


def psutil_temperatures() -> dict[str, list[float]]:
    """psutil.sensors_temperatures() as {driver: [current °C, ...]} ({} where unsupported)."""
    import psutil

    probe = getattr(psutil, "sensors_temperatures", None)
    if probe is None:
        return {}
    return {name: [t.current for t in temps] for name, temps in probe().items()}


def _hottest(readings: Readings, names: Iterable[str]) -> float | None:
    # Sensors reporting 0 or less are unconnected inputs, not real readings.
    values = [v for name in names for v in readings.get(name, ()) if 0 < v < 150]
    return round(max(values), 1) if values else None


def collect_temperatures(
    probe: Callable[[], Readings] = psutil_temperatures,
) -> tuple[Temperatures | None, list[str]]:
    """Hottest CPU and disk temperature; a missing sensor is reported, not fatal."""
    readings = probe()
    cpu = _hottest(readings, CPU_SENSORS)
    if cpu is None:
        cpu = _hottest(readings, FALLBACK_CPU_SENSORS)
    disk = _hottest(readings, DISK_SENSORS)
    errors = [] if cpu is not None else ["temperatures: no CPU sensor found"]
    if cpu is None and disk is None:
        return None, errors
    return Temperatures(cpu_c=cpu, disk_c=disk), errors
