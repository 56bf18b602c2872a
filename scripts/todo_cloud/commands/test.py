"""`todo-cloud test [--suite NAME]... [-n WORKERS] [-- PYTEST ARGS]` (`make test`, `make test-charts`): the
pytest suites under tests/ (all of them, or the named ones: `--suite gates`), in parallel (`-n auto`), with
the output on the terminal. Exit code: pytest's (0 passed, 1 a test failed, 5 nothing ran)."""

from __future__ import annotations

import argparse
import sys

from todo_cloud.paths import REPO
from todo_cloud.run import run as run_command

TESTS = REPO / "tests"


def suites() -> list[str]:
    """The suites: the folders of tests/ that hold test modules."""
    return sorted(p.name for p in TESTS.iterdir() if p.is_dir() and any(p.rglob("test_*.py")))


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", action="append", choices=suites(), metavar="NAME",
                        help=f"run only this suite (repeatable): {', '.join(suites())}")
    parser.add_argument("-n", "--workers", default="auto", help="pytest-xdist workers (default auto; 0: none)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")


def run(args: argparse.Namespace) -> int:
    paths = [str(TESTS / suite) for suite in args.suite or []]
    cmd = [sys.executable, "-m", "pytest", "-n", args.workers, *paths, *args.pytest_args]
    return run_command(cmd, check=False, cwd=REPO, stream=sys.stdout).returncode
