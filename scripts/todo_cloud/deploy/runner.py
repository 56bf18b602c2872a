"""The one interface between the deploy and a cluster: argv of helm or kubectl in, a Result back.

Everything the deploy does to (or reads from) a cluster goes through a `Runner`, so the same plan runs
against a real cluster, a simulated one (any kubeconfig), or a recording fake in the tests.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from todo_cloud import tools
from todo_cloud.run import TimeoutExpired, run

TOOLS = ("helm", "kubectl")


@dataclass(frozen=True)
class Result:
    """Exit code and output of one command."""

    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Runner(Protocol):
    """Runs `argv` (argv[0] is "helm" or "kubectl") with optional standard input; never raises on exit codes."""

    def __call__(self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None) -> Result:
        ...


class ToolRunner:
    """The real runner: the pinned helm and kubectl (todo_cloud.tools) with KUBECONFIG set when given."""

    def __init__(self, kubeconfig: Path | None = None) -> None:
        self.env = dict(os.environ)
        if kubeconfig is not None:
            self.env["KUBECONFIG"] = str(kubeconfig)

    def __call__(self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None) -> Result:
        if not argv or argv[0] not in TOOLS:
            raise ValueError(f"the deploy runs only {', '.join(TOOLS)}, not {argv[:1]}")
        try:
            proc = run([tools.path(argv[0]), *argv[1:]], check=False, input=input, env=self.env, timeout=timeout)
        except TimeoutExpired:
            return Result(124, "", f"{argv[0]} {argv[1]}: no answer within {timeout:.0f} s; stopped")
        return Result(proc.returncode, proc.stdout, proc.stderr)
