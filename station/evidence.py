"""Immutable evidence: what a tool said (raw output, version, hash), stored content-addressed."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from station.hw.runner import CommandResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvidenceRef:
    """A pointer from a result to the raw tool output it rests on."""

    sha256: str
    path: str
    tool: str
    tool_version: str
    command: str
    captured_at: str

    def to_dict(self) -> dict[str, str]:
        """Plain dict for JSON."""
        return asdict(self)


class EvidenceStore:
    """Writes each tool output once, read-only, named by its SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def record(self, result: CommandResult, tool_version: str) -> EvidenceRef:
        """Store a command's raw output as evidence and return its reference."""
        captured_at = datetime.now(UTC).isoformat(timespec="seconds")
        body = {
            "command": result.command_line,
            "tool": result.argv[0] if result.argv else "",
            "tool_version": tool_version,
            "returncode": result.returncode,
            "captured_at": captured_at,
            "stdout": result.stdout,
            "stderr": result.stderr,
        }
        data = json.dumps(body, indent=1, ensure_ascii=False).encode()
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / f"{digest}.json"
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".{digest}.{os.getpid()}.tmp"
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, path)
        tool = str(body["tool"])
        return EvidenceRef(digest, str(path), tool, tool_version, result.command_line, captured_at)

    @staticmethod
    def is_intact(ref: EvidenceRef) -> bool:
        """True if the evidence file still hashes to its name."""
        try:
            return hashlib.sha256(Path(ref.path).read_bytes()).hexdigest() == ref.sha256
        except OSError:
            return False
