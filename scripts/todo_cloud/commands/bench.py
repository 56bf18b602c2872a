"""`todo-cloud bench [--no-suite]` (`make bench`): wall times of what a developer waits for, against the targets
of the platform.

1. bootstrap when everything is in place (`python3 -m todo_cloud.bootstrap --quiet`): < 5 s;
2. render of each environment, with an empty render cache (`helm template` of the whole umbrella): < 2 s;
3. the offline gates for all environments -- `todo-cloud lint`, `validate`, `policy` (checkov uncached),
   renders cached: < 60 s together;
4. the whole offline suite (`pytest -n auto -m "not cluster and not network"`): < 90 s;
5. the simulated cluster's control plane started and its fake nodes Ready, binaries cached: < 30 s.

Prints a table and exits 1 when a target is missed (gates that find something still count as timed:
their verdict is the tests' business, the bench measures time).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from todo_cloud import envs, render
from todo_cloud.paths import REPO, VENV
from todo_cloud.run import run as run_command

BOOTSTRAP_TARGET = 5.0
RENDER_TARGET = 2.0
GATES_TARGET = 60.0
SUITE_TARGET = 90.0
SIM_START_TARGET = 30.0


@dataclass
class Timing:
    step: str
    seconds: float
    target: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.seconds < self.target


def timed(step: str, target: float, action: Callable[[], str]) -> Timing:
    """Time one step; a step that raises is timed up to the error, which becomes its note."""
    start = time.monotonic()
    try:
        note = action()
    except Exception as exc:  # the bench reports every step, whatever breaks
        note = f"error: {str(exc).strip().splitlines()[0][:120]}"
    return Timing(step, time.monotonic() - start, target, note)


def _command(cmd: list[str | Path], env: dict[str, str] | None = None) -> Callable[[], str]:
    def action() -> str:
        proc = run_command(cmd, check=False, cwd=REPO, env=env, timeout=1800)
        return "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
    return action


def _render_cold(env: str) -> Callable[[], str]:
    def action() -> str:
        saved = render.CACHE
        with tempfile.TemporaryDirectory(prefix="todo-bench-") as tmp:
            render.CACHE = Path(tmp)  # type: ignore[misc]
            render._memory.clear()
            try:
                return f"{len(render.render_environment(env))} objects"
            finally:
                render.CACHE = saved  # type: ignore[misc]
                render._memory.clear()
    return action


def _sim_start() -> str:
    """Start and stop the simulated cluster (production's node pool) once its binaries are built."""
    from todo_cloud.sim import cluster as sim

    try:
        with sim.running("production") as cluster:
            t = cluster.timings
            return f"API ready after {t['api_ready']:.1f} s, nodes Ready after {t['ready']:.1f} s"
    except sim.MissingBinaries as exc:
        return f"not measured: {exc}"


def measure(include_suite: bool = True) -> list[Timing]:
    cli = VENV / "bin" / "todo-cloud"
    python_env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))
    timings = [timed("bootstrap (all in place)", BOOTSTRAP_TARGET,
                     _command(["python3", "-m", "todo_cloud.bootstrap", "--quiet"], python_env))]
    for env in envs.names():
        timings.append(timed(f"render {env} (cold)", RENDER_TARGET, _render_cold(env)))
    gates_env = dict(os.environ, TODO_CLOUD_POLICY_CACHE="off")
    gates = [timed(f"todo-cloud {g}", GATES_TARGET, _command([cli, g], gates_env))
             for g in ("lint", "validate", "policy")]
    timings += gates
    timings.append(Timing("gates together", sum(t.seconds for t in gates), GATES_TARGET,
                          ", ".join(f"{t.step.split()[-1]}: {t.note}" for t in gates)))
    timings.append(timed("simulated cluster start (cached)", SIM_START_TARGET, _sim_start))
    if include_suite:
        timings.append(timed("offline suite (pytest -n auto)", SUITE_TARGET, _command(
            [VENV / "bin" / "python", "-m", "pytest", "-n", "auto", "-q", "-m", "not cluster and not network"])))
    return timings


def table(timings: list[Timing]) -> str:
    lines = [f"{'step':34s} {'seconds':>8s} {'target':>8s}  verdict  note", "-" * 80]
    for t in timings:
        verdict = "ok" if t.ok else "SLOW"
        lines.append(f"{t.step:34s} {t.seconds:8.1f} {'< ' + format(t.target, 'g'):>8s}  {verdict:7s}  {t.note}")
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-suite", action="store_true", help="leave out the offline suite")


def run(args: argparse.Namespace) -> int:
    timings = measure(include_suite=not args.no_suite)
    print(table(timings))
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} (timings on a busy machine run slow)")
    per_step = [t for t in timings if t.step.startswith(("bootstrap", "render", "gates", "offline"))]
    return 0 if all(t.ok for t in per_step) else 1
