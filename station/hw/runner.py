"""The one command runner: every external tool runs through here, with a timeout.

``SubprocessRunner`` runs the real tool; ``ReplayRunner`` replays recorded real output
(one file per command line) so parsing code is exercised without the hardware.
"""

from __future__ import annotations

import logging
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from station.errors import RecordingMissing, ToolError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
# Where tools are looked for: the system's, then pip's (/usr/local) and the station's own
# environment last (optional tools such as pymobiledevice3 are installed there with pip).
SEARCH_PATH = ":".join(
    ("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin",
     str(Path(sys.executable).parent))
)  # fmt: skip


def with_tool_path(extra: str = "") -> str:
    """The runner's search path with the folders of ``extra`` (colon-separated) first."""
    first = [folder for folder in extra.split(":") if folder]
    return ":".join([*first, SEARCH_PATH])


def installed(tool: str, search_path: str = SEARCH_PATH) -> bool:
    """Whether ``tool`` is on ``search_path`` (by default the runner's own)."""
    return shutil.which(tool, path=search_path) is not None


@dataclass(frozen=True)
class CommandResult:
    """What a tool said: its command line, exit status and output."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float = 0.0

    @property
    def command_line(self) -> str:
        """The command line as one shell-quoted string."""
        return shlex.join(self.argv)


class CommandRunner(Protocol):
    """Runs an external command and returns its output; never raises on a non-zero exit."""

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        """Run ``argv`` and return its result; raise ToolError if it cannot run or times out."""
        ...


class SubprocessRunner:
    """Runs real tools with ``subprocess.run``, a timeout and a C locale (stable output).

    Tools are looked for in ``search_path`` (default ``SEARCH_PATH``), never in the caller's
    PATH: what runs as root is what the station's settings name (``tool_path``).
    """

    def __init__(self, search_path: str = SEARCH_PATH) -> None:
        self.search_path = search_path

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        """Run ``argv`` and return its result; raise ToolError if it cannot run or times out."""
        args = tuple(argv)
        start = time.monotonic()
        try:
            proc = subprocess.run(
                args,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
                env={"LC_ALL": "C", "PATH": self.search_path},
            )
        except FileNotFoundError as exc:
            raise ToolError(f"{args[0]} is not installed") from exc
        except subprocess.TimeoutExpired as exc:
            raise ToolError(f"{shlex.join(args)} timed out after {timeout:g} s") from exc
        except OSError as exc:
            raise ToolError(f"{args[0]} could not be run: {exc}") from exc
        duration = time.monotonic() - start
        log.debug("ran %s -> %d in %.3f s", shlex.join(args), proc.returncode, duration)
        return CommandResult(args, proc.returncode, proc.stdout, proc.stderr, duration)


@dataclass(frozen=True)
class Recording:
    """A recorded command output: the file holding stdout and the exit status."""

    stdout_file: str
    returncode: int = 0
    stderr: str = ""


@dataclass
class ReplayRunner:
    """Replays recorded real output: ``recordings`` maps a command line to its recording.

    A command without a recording raises RecordingMissing naming the command, so a
    test missing its fixture says exactly what it expected.
    """

    directory: Path
    recordings: Mapping[str, Recording] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def run(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT_S) -> CommandResult:
        """Return the recorded output for ``argv``; raise RecordingMissing if there is none."""
        args = tuple(argv)
        self.calls.append(args)
        key = shlex.join(args)
        rec = self.recordings.get(key)
        if rec is None:
            raise RecordingMissing(f"no recording for command line {key!r} in {self.directory}")
        path = self.directory / rec.stdout_file
        if not path.is_file():
            raise RecordingMissing(f"recording file {path} for {key!r} does not exist")
        return CommandResult(args, rec.returncode, path.read_text(errors="replace"), rec.stderr)


def tool_version(runner: CommandRunner, argv: Sequence[str]) -> str:
    """Return the first line a tool prints for its version flag, or 'unknown'."""
    try:
        res = runner.run(argv, timeout=10)
    except ToolError:
        return "unknown"
    text = (res.stdout or res.stderr).strip()
    return text.splitlines()[0].strip() if text else "unknown"
