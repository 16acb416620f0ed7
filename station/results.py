"""The station's conclusions (diagnoses, grades...) as read-only JSON files beside the evidence."""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ResultStore:
    """Writes each result once, read-only; results point to evidence by SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, kind: str, subject: str, data: dict[str, Any]) -> Path:
        """Store one result (kind: diagnostics, grade...; subject: a device name or serial)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", subject)[-32:] or "device"
        path = self.root / f"{stamp}-{kind}-{slug}-{uuid.uuid4().hex[:8]}.json"
        self.root.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            json.dump({"kind": kind, "subject": subject, "result": data}, fh, indent=1, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, 0o444)
        return path

    def list(self, kind: str | None = None) -> list[Path]:
        """Stored results, oldest first (optionally of one kind)."""
        pattern = f"*-{kind}-*.json" if kind else "*.json"
        return sorted(self.root.glob(pattern))
