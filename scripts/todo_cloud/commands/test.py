"""`todo-cloud test [--suite NAME]... [-n WORKERS] [-- PYTEST ARGS]` (`make test`, `make test-charts`): the
pytest suites under tests/ (all of them, or the named ones: `--suite gates`), in parallel, with the output on
the terminal. Exit code: pytest's (0 passed, 1 a test failed, 5 nothing ran).

Workers: one more than the machine's CPUs by default (`default_workers`). The suite's tests spend much of
their time waiting on the processes they start (simulated clusters, Kafka, daprd, helm): with one worker per
CPU, 2 cores stood ~20% idle through a whole `make test` (vmstat), with one more ~5%, and pytest took 9:29
instead of 10:37 here."""

from __future__ import annotations

import argparse
import os
import sys

from todo_cloud.paths import REPO
from todo_cloud.run import run as run_command

TESTS = REPO / "tests"


def suites() -> list[str]:
    """The suites: the folders of tests/ that hold test modules."""
    return sorted(p.name for p in TESTS.iterdir() if p.is_dir() and any(p.rglob("test_*.py")))


def default_workers() -> str:
    """One pytest-xdist worker per CPU this process may use, plus one (see the module's docstring)."""
    return str(len(os.sched_getaffinity(0)) + 1)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", action="append", choices=suites(), metavar="NAME",
                        help=f"run only this suite (repeatable): {', '.join(suites())}")
    parser.add_argument("-n", "--workers", default=default_workers(),
                        help="pytest-xdist workers (default: the CPUs plus one; auto: one per CPU; 0: none)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")


def run(args: argparse.Namespace) -> int:
    paths = [str(TESTS / suite) for suite in args.suite or []]
    cmd = [sys.executable, "-m", "pytest", "-n", args.workers, *paths, *args.pytest_args]
    return run_command(cmd, check=False, cwd=REPO, stream=sys.stdout).returncode
