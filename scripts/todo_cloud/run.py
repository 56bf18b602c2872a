"""The one wrapper around external commands: a failure carries the command line and its stderr."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


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
) -> subprocess.CompletedProcess[str]:
    """Run `cmd`, capture text output, raise CommandError on a non-zero exit when `check`."""
    args = [str(c) for c in cmd]
    proc = subprocess.run(
        args, input=input, env=env, cwd=cwd, timeout=timeout, capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise CommandError(args, proc.returncode, proc.stdout, proc.stderr)
    return proc
