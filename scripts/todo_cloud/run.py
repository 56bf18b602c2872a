"""The one wrapper around external commands that end: a failure carries the command line and its stderr.

Standard library only (the bootstrap may use it). Servers that keep running go through
`todo_cloud.processes.Supervisor` instead. No other module of todo_cloud imports `subprocess` (the
bootstrap-time ones aside; tests/foundation/test_layout.py checks it): the names callers need are here.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

# What a finished command is, and what `run` raises when its timeout passes.
Completed = subprocess.CompletedProcess
TimeoutExpired = subprocess.TimeoutExpired


class CommandError(RuntimeError):
    """An external command failed; `str()` shows the command, its exit code and its stderr."""

    def __init__(self, cmd: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(
            f"command failed (exit {returncode}): {shlex.join(self.cmd)}\n{stderr.strip() or stdout.strip()}"
        )


def run(
    cmd: Sequence[str | Path],
    *,
    check: bool = True,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    stream: TextIO | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd`, capture text output, raise CommandError on a non-zero exit when `check`; TimeoutExpired
    (the child killed) when it runs longer than `timeout` seconds.

    `stream` lets a long command's output through instead (sys.stdout, or sys.stderr to keep stdout for
    results): its stdout goes there, its stderr to this process's stderr, and the result holds no output.
    """
    args = [str(c) for c in cmd]
    if stream is not None:
        proc = subprocess.run(args, input=input, env=env, cwd=cwd, timeout=timeout, stdout=stream, text=True,
                              check=False)
        proc.stdout, proc.stderr = "", ""
        if check and proc.returncode != 0:
            raise CommandError(args, proc.returncode, "", "(its output is above)")
        return proc
    proc = subprocess.run(
        args, input=input, env=env, cwd=cwd, timeout=timeout, capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise CommandError(args, proc.returncode, proc.stdout, proc.stderr)
    return proc
