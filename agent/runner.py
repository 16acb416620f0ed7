"""The one way the agent runs an external tool (smartctl, notify-send, ...): argv lists, timeouts.

`SubprocessRunner` runs the real thing; `ReplayRunner` answers from recorded real output so
tests (and demos) drive the same parsing code without the hardware.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class RunnerError(Exception):
    """A tool could not be run at all: missing, timed out, or no recording for it."""


@dataclass(frozen=True)
class RunResult:
    """What a finished command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class CommandRunner(Protocol):
    """Runs a command line and says whether a tool is installed."""

    def run(self, argv: Sequence[str], timeout: float) -> RunResult:
        """Run argv (no shell); raise RunnerError if it cannot run or exceeds timeout."""
        ...

    def which(self, name: str) -> str | None:
        """Full path of a tool, or None when it is not installed."""
        ...


class SubprocessRunner:
    """Runs real commands with a timeout; output decoded as UTF-8 with replacement."""

    def run(self, argv: Sequence[str], timeout: float) -> RunResult:
        """Run argv (no shell); raise RunnerError if it cannot run or exceeds timeout."""
        args = tuple(argv)
        try:
            done = subprocess.run(
                args,
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise RunnerError(f"{args[0]}: not installed") from None
        except subprocess.TimeoutExpired:
            raise RunnerError(f"{args[0]}: no answer within {timeout:g} s") from None
        except OSError as exc:
            raise RunnerError(f"{args[0]}: cannot run ({exc.strerror})") from None
        return RunResult(
            argv=args,
            returncode=done.returncode,
            stdout=done.stdout.decode("utf-8", "replace"),
            stderr=done.stderr.decode("utf-8", "replace"),
        )

    def which(self, name: str) -> str | None:
        """Full path of a tool, or None when it is not installed."""
        return shutil.which(name)


@dataclass(frozen=True)
class Recording:
    """Recorded output of one command line: the file holding stdout and the exit code."""

    stdout_file: Path
    returncode: int = 0


class ReplayRunner:
    """Answers command lines from recorded real output; records every call it was asked."""

    def __init__(
        self,
        recordings: Mapping[tuple[str, ...], Recording],
        installed: Sequence[str] = (),
    ) -> None:
        self._recordings = dict(recordings)
        # A tool counts as installed when named here or when any recording runs it.
        self._installed = set(installed) | {argv[0] for argv in self._recordings}
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str], timeout: float) -> RunResult:
        """Return the recorded output for argv; RunnerError naming argv when none exists."""
        args = tuple(argv)
        self.calls.append(args)
        rec = self._recordings.get(args)
        if rec is None:
            if args[0] not in self._installed:
                raise RunnerError(f"{args[0]}: not installed")
            raise RunnerError(f"no recording for command line: {' '.join(args)}")
        return RunResult(args, rec.returncode, rec.stdout_file.read_text(encoding="utf-8"), "")

    def which(self, name: str) -> str | None:
        """The tool's name when it is scripted as installed, else None."""
        return f"/replay/{name}" if name in self._installed else None
