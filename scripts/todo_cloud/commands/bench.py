"""`todo-cloud bench [--no-suite] [--no-runtime]` (`make bench`): wall times of what a developer waits for,
against the targets of the platform.

1. bootstrap when everything is in place (`python3 -m todo_cloud.bootstrap --quiet`): < 5 s;
2. per environment, a raw `helm template` of the whole umbrella with the environment's values: < 2 s; and the
   render harness on the same chart and values with a cold cache (todo_cloud.render: no disk cache, no memory
   cache, no file digests): within 1.5x of that raw `helm template`;
3. the offline gates for all environments -- `todo-cloud lint`, `validate`, `policy` (checkov uncached),
   renders cached: < 60 s together;
4. the offline suite (`pytest -n auto -m "not cluster and not network"`, less the runtime suite that step 6
   times on its own): < 90 s;
5. the simulated cluster's control plane started and its fake nodes Ready, binaries cached: < 30 s;
6. the runtime suite warm (`todo-cloud test --suite runtime`: Kafka, daprd, PostgreSQL, Prometheus, Jaeger and
   the reference workloads as real processes; builds and jars cached): < 3 minutes on 2 cores (issue 14);
7. on request (`--make-test warm|cold|both`), the whole `make test` on a fresh clone of HEAD, as `.ci/run` runs
   it: warm (this machine's caches: built tools, jars, charts, Go and pip caches) < 12 minutes; cold (a home
   of its own, so no cache of any kind: every tool built, every package downloaded) < 60 minutes, both on
   2 cores. The clone sits beside a link to this repository's `../shared` (the chart mirror and the Go
   module proxy, as beside CI's clone). A `make test` that fails fails the bench however fast it was.

The whole output of each suite and `make test` is kept in out/bench (offline-suite.log, runtime-suite.log,
make-test-KIND.log), and a failed one's note names its file.

Prints a table whose verdict names the exit code of what was timed, and exits 1 when a target is missed, or
when the bootstrap, a `helm template`, a render, the simulated cluster's start, a suite or a `make test` did
not succeed (then nothing meaningful was timed: a run that stops at its first broken process is quick). Gates
that find something still count as timed: their findings are the tests' business, the bench measures time.
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
from todo_cloud.paths import REPO, UMBRELLA, VENV
from todo_cloud.run import CommandError
from todo_cloud.run import run as run_command

BOOTSTRAP_TARGET = 5.0
HELM_TEMPLATE_TARGET = 2.0
# The render harness against a raw `helm template` of the same chart and values.
RENDER_FACTOR = 1.5
GATES_TARGET = 60.0
SUITE_TARGET = 90.0
SIM_START_TARGET = 30.0
RUNTIME_SUITE_TARGET = 180.0
RUNTIME_SUITE = "runtime suite (warm)"
# Steps that must succeed for their time to mean anything (the simulated cluster's binaries are a prerequisite
# `make bench` builds first, like `make test`: a start that cannot run is a failure, not a time).
OFFLINE_SUITE = "offline suite (pytest -n auto)"
MUST_SUCCEED = ("bootstrap", "helm template", "render", "simulated cluster start", OFFLINE_SUITE, RUNTIME_SUITE,
                "make test")
MAKE_TEST_TARGETS = {"warm": 12 * 60.0, "cold": 60 * 60.0}
MAKE_TEST_TIMEOUT = 3 * 3600
# Where the whole output of each timed suite and `make test` is kept (a clone is removed after its run).
LOGS = REPO / "out" / "bench"

# What an action reports: a note, and the exit code of what it ran (None: it never ran to an end).
Outcome = tuple[str, int | None]


@dataclass
class Timing:
    step: str
    seconds: float
    target: float
    note: str = ""
    # Exit code of what was timed (0 for an in-process step that succeeded); None when it broke off.
    exit_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.seconds < self.target

    @property
    def broken(self) -> bool:
        """A step that had to succeed (MUST_SUCCEED) and did not: its time means nothing."""
        return self.step.startswith(MUST_SUCCEED) and self.exit_code != 0

    @property
    def verdict(self) -> str:
        """`ok` or `SLOW` (`FAILED` for a broken step), with the exit code of what was timed (`error` when it
        never ended)."""
        speed = "FAILED" if self.broken else "ok" if self.ok else "SLOW"
        return f"{speed}, exit {self.exit_code}" if self.exit_code is not None else f"{speed}, error"


def timed(step: str, target: float, action: Callable[[], Outcome]) -> Timing:
    """Time one step; a step that raises is timed up to the error, which becomes its note."""
    start = time.monotonic()
    try:
        note, code = action()
    except Exception as exc:  # the bench reports every step, whatever breaks
        note, code = f"error: {str(exc).strip().splitlines()[0][:120]}", None
    return Timing(step, time.monotonic() - start, target, note, code)


def _command(cmd: list[str | Path], env: dict[str, str] | None = None, log: str | None = None,
             cwd: Path = REPO, timeout: float = 1800) -> Callable[[], Outcome]:
    """Run `cmd`; with `log`, its whole output is kept in LOGS/`log`.log and the note is pytest's summary line
    (naming the log when it failed), else the note is the tail of a failure's output."""
    def action() -> Outcome:
        proc = run_command(cmd, check=False, cwd=cwd, env=env, timeout=timeout)
        if log is not None:
            return kept(log, cmd, proc.returncode, proc.stdout, proc.stderr), proc.returncode
        return ("" if proc.returncode == 0 else (proc.stderr or proc.stdout).strip()[-120:]), proc.returncode
    return action


def kept(name: str, cmd: list[str | Path], returncode: int, stdout: str, stderr: str) -> str:
    """Keep a finished command's whole output in LOGS/`name`.log; the note: pytest's last summary line (the tail
    of the output where it printed none), and where the output is when it failed."""
    path = LOGS / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    shown_cmd = " ".join(str(c) for c in cmd)
    path.write_text(f"$ {shown_cmd}  (exit {returncode})\n{stdout}\n--- stderr ---\n{stderr}")
    summary = [line for line in stdout.splitlines() if " passed" in line or " failed" in line][-1:]
    note = summary[0].strip("= ") if summary else (stderr or stdout).strip()[-120:]
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    return f"{note}; output: {shown}" if returncode else note


def _helm_template(env: str) -> Callable[[], Outcome]:
    """The raw `helm template` the harness runs for the environment, its output left unread."""
    e = envs.get(env)
    cmd = render.template_command(UMBRELLA, e.values_files, release=e.release, namespace=e.namespace)
    return _command(cmd)


def _render_cold(env: str) -> Callable[[], Outcome]:
    def action() -> Outcome:
        saved = render.CACHE
        with tempfile.TemporaryDirectory(prefix="todo-bench-") as tmp:
            render.CACHE = Path(tmp)  # type: ignore[misc]
            render._memory.clear()
            render._file_digests.clear()
            try:
                return f"{len(render.render_environment(env))} objects", 0
            except CommandError as exc:
                return f"helm template failed: {exc.stderr.strip()[-120:]}", exc.returncode
            finally:
                render.CACHE = saved  # type: ignore[misc]
                render._memory.clear()
    return action


def _sim_start() -> Outcome:
    """Start and stop the simulated cluster (production's node pool) once its binaries are built."""
    from todo_cloud.sim import cluster as sim

    try:
        with sim.running("production") as cluster:
            t = cluster.timings
            return f"API ready after {t['api_ready']:.1f} s, nodes Ready after {t['ready']:.1f} s", 0
    except sim.MissingBinaries as exc:
        return f"not measured: {exc}", None


def warm_runtime() -> None:
    """Every prerequisite of the suite (todo_cloud.prereqs: daprd, Prometheus, Jaeger, the Kafka jars, ...),
    built now when missing and untimed, so that the suite's time is the warm one; RuntimeError naming each that
    could not be had."""
    from todo_cloud import prereqs

    failed = [o for o in prereqs.build(report=lambda line: None) if o.status == "failed"]
    if failed:
        raise RuntimeError("; ".join(o.detail for o in failed))


def runtime_suite(cli: Path, warm: Callable[[], None] = warm_runtime) -> Timing:
    """The runtime suite timed warm (`warm` first, untimed); a warm-up that fails is the step's error."""
    try:
        warm()
    except Exception as exc:  # reported like any broken step
        return Timing(RUNTIME_SUITE, 0.0, RUNTIME_SUITE_TARGET, f"error: warming up: {str(exc).splitlines()[0][:100]}")
    return timed(RUNTIME_SUITE, RUNTIME_SUITE_TARGET,
                 _command([cli, "test", "--suite", "runtime", "--", "-q"], log="runtime-suite"))


def offline_suite_command() -> list[str | Path]:
    """pytest over every test that needs no cluster and no network, but the runtime suite (its own step)."""
    return [VENV / "bin" / "python", "-m", "pytest", "-n", "auto", "-q", "-m", "not cluster and not network",
            "--ignore", REPO / "tests" / "runtime"]


def fresh_clone(where: Path) -> Path:
    """A clone of HEAD at `where`/main, beside a link `where`/shared to this repository's ../shared (when it
    exists), as CI's clone sits beside the machine's shared folder. `where` and its parent are made traversable
    by all (a temporary folder is root's alone): the workload tests run the services as the chart's non-root
    UID, which must reach the clone's venv and code, as in CI's checkout."""
    shared = REPO.parent / "shared"
    where.mkdir(parents=True, exist_ok=True)
    for folder in (where.parent, where):
        folder.chmod(folder.stat().st_mode | 0o755)
    if shared.is_dir():
        (where / "shared").symlink_to(shared)
    run_command(["git", "clone", "--quiet", "--no-local", REPO, where / "main"], timeout=600)
    return where / "main"


def cold_environment(home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `make test` with no cache of any kind: HOME, the XDG cache, Go's module and build
    caches, pip's and uv's caches in `home` (empty); pyenv's root (the machine's Python) and the rest kept."""
    env = dict(base if base is not None else os.environ)
    if "PYENV_ROOT" not in env and (Path.home() / ".pyenv").is_dir():
        env["PYENV_ROOT"] = str(Path.home() / ".pyenv")
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), GOPATH=str(home / "go"),
               GOMODCACHE=str(home / "go" / "pkg" / "mod"), GOCACHE=str(home / ".cache" / "go-build"),
               PIP_CACHE_DIR=str(home / ".cache" / "pip"), UV_CACHE_DIR=str(home / ".cache" / "uv"))
    for variable in ("TODO_CLOUD_CHART_MIRROR", "TODO_CLOUD_SIM_BIN"):
        env.pop(variable, None)
    return env


def make_test(kind: str, work: Path) -> Timing:
    """`make test` on a fresh clone of HEAD, warm (this machine's caches) or cold (a home of its own)."""
    step = f"make test ({kind}, fresh clone)"
    target = MAKE_TEST_TARGETS[kind]
    try:
        clone = fresh_clone(work / kind)
    except Exception as exc:  # reported like any broken step
        return Timing(step, 0.0, target, f"error: cloning: {str(exc).splitlines()[0][:100]}")
    env = cold_environment(work / kind / "home") if kind == "cold" else None

    return timed(step, target, _command(["make", "test"], env, f"make-test-{kind}", clone, MAKE_TEST_TIMEOUT))


def render_steps(env: str) -> list[Timing]:
    """A raw `helm template` of the environment, then the harness on the same input against 1.5x its time."""
    raw = timed(f"helm template {env} (raw)", HELM_TEMPLATE_TARGET, _helm_template(env))
    harness = timed(f"render {env} (cold)", RENDER_FACTOR * raw.seconds, _render_cold(env))
    if raw.seconds:
        harness.note = f"{harness.note}; {harness.seconds / raw.seconds:.2f}x helm template"
    return [raw, harness]


def measure(include_suite: bool = True, include_runtime: bool = True, make_tests: tuple[str, ...] = ()) -> list[
        Timing]:
    cli = VENV / "bin" / "todo-cloud"
    python_env = dict(os.environ, PYTHONPATH=str(REPO / "scripts"))
    timings = [timed("bootstrap (all in place)", BOOTSTRAP_TARGET,
                     _command(["python3", "-m", "todo_cloud.bootstrap", "--quiet"], python_env))]
    for env in envs.names():
        timings += render_steps(env)
    gates_env = dict(os.environ, TODO_CLOUD_POLICY_CACHE="off")
    gates = [timed(f"todo-cloud {g}", GATES_TARGET, _command([cli, g], gates_env))
             for g in ("lint", "validate", "policy")]
    timings += gates
    worst = max((t.exit_code for t in gates if t.exit_code is not None), default=None)
    timings.append(Timing("gates together", sum(t.seconds for t in gates), GATES_TARGET,
                          ", ".join(f"{t.step.split()[-1]}: exit {t.exit_code}" for t in gates), worst))
    timings.append(timed("simulated cluster start (cached)", SIM_START_TARGET, _sim_start))
    if include_runtime:
        timings.append(runtime_suite(cli))
    if include_suite:
        timings.append(timed(OFFLINE_SUITE, SUITE_TARGET, _command(offline_suite_command(), log="offline-suite")))
    if make_tests:
        with tempfile.TemporaryDirectory(prefix="todo-bench-make-test-") as tmp:
            timings += [make_test(kind, Path(tmp)) for kind in make_tests]
    return timings


def table(timings: list[Timing]) -> str:
    lines = [f"{'step':34s} {'seconds':>8s} {'target':>8s}  {'verdict':14s}  note", "-" * 90]
    for t in timings:
        lines.append(f"{t.step:34s} {t.seconds:8.2f} {'< ' + format(t.target, '.3g'):>8s}  {t.verdict:14s}  {t.note}")
    return "\n".join(lines)


def failed(timings: list[Timing]) -> list[Timing]:
    """The steps that fail the bench: a missed target, or a step that had to succeed and did not."""
    per_step = [t for t in timings if t.step.startswith((*MUST_SUCCEED, "gates", "offline"))]
    return [t for t in per_step if not t.ok or t.broken]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-suite", action="store_true", help="leave out the offline suite")
    parser.add_argument("--no-runtime", action="store_true", help="leave out the runtime suite")
    parser.add_argument("--make-test", choices=("warm", "cold", "both"),
                        help="also time the whole `make test` on a fresh clone: warm (< 12 min), cold (no cache of "
                             "any kind, < 60 min) or both")


def run(args: argparse.Namespace) -> int:
    kinds = {None: (), "warm": ("warm",), "cold": ("cold",), "both": ("warm", "cold")}[args.make_test]
    timings = measure(include_suite=not args.no_suite, include_runtime=not args.no_runtime, make_tests=kinds)
    print(table(timings))
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} (timings on a busy machine run slow)")
    return 1 if failed(timings) else 0
