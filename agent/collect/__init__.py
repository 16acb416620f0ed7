"""Health collectors: one module per fact family, assembled by `DeviceCollector`."""

from agent.collect.snapshot import Collector, Snapshot, build_report, collect_report

__all__ = ["Collector", "Snapshot", "build_report", "collect_report"]
