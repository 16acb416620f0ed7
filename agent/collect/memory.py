"""Memory facts: installed and available memory."""

from __future__ import annotations

from agent.report import Memory


def collect_memory() -> tuple[Memory | None, list[str]]:
    """Total and available memory from psutil."""
    import psutil

    mem = psutil.virtual_memory()
    return Memory(total_bytes=int(mem.total), available_bytes=int(mem.available)), []
