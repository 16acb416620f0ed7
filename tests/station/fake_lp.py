"""A stand-in for CUPS's ``lp`` in the label printing tests: this machine has no printer.

The station finds it the way it finds every tool: its ``tool_path`` setting puts the
folder first on the command runner's search path. The script records the arguments it was
given, copies the file it was asked to print, and answers as lp does (the request id line
of lp.c on stdout), or fails as lp does for an unknown queue (its words on stderr, exit 1).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

# lp's own words for a queue CUPS does not know (the scheduler's "The printer or class does
# not exist." after lp's "lp: ").
NO_SUCH_QUEUE = "lp: The printer or class does not exist."

_TAKES = """#!/bin/sh
# Stand-in for CUPS lp (tests only): record the arguments, keep the file, answer like lp.
printf '%s\\n' "$@" > {argv}
queue= prev= file=
for arg in "$@"; do
    if [ "$prev" = "-d" ]; then queue=$arg; fi
    prev=$arg
    file=$arg
done
cp "$file" {printed}
echo "request id is $queue-{job} (1 file(s))"
"""

_REFUSES = """#!/bin/sh
# Stand-in for CUPS lp (tests only): record the arguments, refuse like lp for an unknown queue.
printf '%s\\n' "$@" > {argv}
echo {said} >&2
exit 1
"""


@dataclass(frozen=True)
class FakeLp:
    """Where the stand-in is (``folder``, for ``tool_path``) and what it was given."""

    folder: Path

    @property
    def called(self) -> bool:
        """Whether lp was run at all."""
        return (self.folder / "argv.txt").exists()

    @property
    def argv(self) -> list[str]:
        """The arguments lp was given (without ``lp`` itself)."""
        return (self.folder / "argv.txt").read_text().splitlines()

    @property
    def printed(self) -> Path:
        """The copy of the file lp was asked to print."""
        return self.folder / "printed"


def install_fake_lp(folder: Path, *, refuse: bool = False, job: int = 17) -> FakeLp:
    """Write an executable ``lp`` into ``folder``: one that takes jobs, or one that refuses."""
    folder.mkdir(parents=True, exist_ok=True)
    fake = FakeLp(folder)
    argv = shlex.quote(str(folder / "argv.txt"))
    if refuse:
        script = _REFUSES.format(argv=argv, said=shlex.quote(NO_SUCH_QUEUE))
    else:
        script = _TAKES.format(argv=argv, printed=shlex.quote(str(fake.printed)), job=job)
    lp = folder / "lp"
    lp.write_text(script)
    lp.chmod(0o755)
    return fake
