"""Labels on paper: the label PDF sent to a CUPS queue with ``lp``, run by the command runner.

The station does not talk to printers itself: CUPS (the system's print spooler) holds the
queue, its driver and media, and ``lp -d QUEUE -o OPTION... FILE`` hands it the job. lp says
``request id is QUEUE-42 (1 file(s))`` when the queue took it (on stdout; CUPS 1.1 wrote it
on stderr), and its own words on stderr with a non-zero exit when it did not.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from station.errors import RecordingMissing, StationError, ToolError
from station.hw.runner import CommandResult, CommandRunner
from station.reasons import reason

log = logging.getLogger(__name__)

LP = "lp"
LP_TIMEOUT_S = 30.0
# The runner runs lp in the C locale, so this is lp.c's untranslated format
# "request id is %s-%d (%d file(s))": the job id is the queue name, '-', the job number.
_REQUEST_ID = re.compile(r"^request id is (\S+-\d+) \(\d+ file\(s\)\)", re.M)


class PrintError(StationError):
    """lp is missing, did not answer, or the queue did not take the label (a coded reason)."""


@dataclass(frozen=True)
class PrintJob:
    """A label the queue took: the queue, lp's job id ('' if it named none) and its output."""

    queue: str
    job_id: str
    result: CommandResult

    def __str__(self) -> str:
        if self.job_id:
            return f"label sent to printer {self.queue} (job id {self.job_id})"
        return f"label sent to printer {self.queue}"


def lp_argv(queue: str, options: Sequence[str], path: Path) -> list[str]:
    """``lp -d QUEUE [-o OPTION]... FILE``."""
    argv = [LP, "-d", queue]
    for option in options:
        argv += ["-o", option]
    return [*argv, str(path)]


def parse_request_id(text: str) -> str:
    """The job id in lp's ``request id is QUEUE-N (1 file(s))`` line; '' if there is none."""
    match = _REQUEST_ID.search(text)
    return match.group(1) if match else ""


def send_label(runner: CommandRunner, queue: str, options: Sequence[str], path: Path) -> PrintJob:
    """Send the label file to ``queue``; PrintError with a coded reason unless lp took it."""
    argv = lp_argv(queue, options, path)
    try:
        res = runner.run(argv, timeout=LP_TIMEOUT_S)
    except RecordingMissing:
        raise
    except ToolError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            raise PrintError(reason("print_no_lp", queue=queue)) from exc
        raise PrintError(reason("print_no_answer", queue=queue, error=str(exc))) from exc
    if res.returncode != 0:
        said = (res.stderr or res.stdout).strip() or "(lp said nothing)"
        log.warning("%s -> %d: %s", shlex.join(argv), res.returncode, said)
        raise PrintError(
            reason("print_refused", queue=queue, returncode=str(res.returncode), stderr=said)
        )
    job = PrintJob(queue, parse_request_id(res.stdout) or parse_request_id(res.stderr), res)
    log.info("%s -> %s", shlex.join(argv), job.job_id or "no request id")
    return job
