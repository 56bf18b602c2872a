"""`todo-cloud lint`: `helm lint --strict` for every chart with every environment's values, yamllint on
our YAML, ruff on the Python, actionlint on .github/workflows (the pinned Go tool of versions.toml).
Prints one line per check and every failure's output; exit 1 on any."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from todo_cloud import deps, envs, tools
from todo_cloud.commands import selected_environments
from todo_cloud.generate.chart_schemas import is_library
from todo_cloud.paths import CHARTS, REPO, UMBRELLA, VENV
from todo_cloud.render import subchart_values
from todo_cloud.run import run as run_command

WORKFLOWS = REPO / ".github" / "workflows"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", help="limit to these environments (repeatable)")


def own_charts() -> list[str]:
    """Our charts besides the umbrella: every charts/<name> with a Chart.yaml."""
    return sorted(p.parent.name for p in CHARTS.glob("*/Chart.yaml") if p.parent != UMBRELLA)


# A check that could not run: (label, reason). It fails the lint like a failing command.
Unrunnable = tuple[str, str]


def helm_lint_commands(env_names: list[str], tmp: Path,
                       unrunnable: list[Unrunnable] | None = None) -> list[tuple[str, list]]:
    """(label, command) for every chart x environment (a library chart once). The umbrella needs its upstream
    charts: where `make deps` cannot get them, its checks go to `unrunnable` with the reason instead.
    The values our charts get from the umbrella are written to `tmp`, which must outlive the commands."""
    helm = tools.path("helm")
    checks: list[tuple[str, list]] = []
    for chart in own_charts():
        if is_library(CHARTS / chart):
            # helpers only: no values, nothing rendered, so once and without an environment
            checks.append((f"helm lint --strict {chart} (library)", [helm, "lint", "--strict", CHARTS / chart]))
            continue
        deps.link_file_dependencies(CHARTS / chart)
        for env in env_names:
            values = tmp / f"{chart}-{env}.yaml"
            values.write_text(yaml.safe_dump(subchart_values(chart, env)))
            checks.append((f"helm lint --strict {chart} ({env})",
                           [helm, "lint", "--strict", CHARTS / chart, "--values", values]))
    status = deps.ensure()
    for env in env_names:
        label = f"helm lint --strict todo-chatbot-cloud ({env})"
        if status.ready:
            checks.append((label, [helm, "lint", "--strict", UMBRELLA,
                                  *(a for f in envs.get(env).values_files for a in ("--values", f))]))
        elif unrunnable is not None:
            unrunnable.append((label, f"upstream charts unavailable (`make deps`): {status.reason}"))
    return checks


def run_checks(checks: list[tuple[str, list]], unrunnable: Sequence[Unrunnable] = ()) -> int:
    """Run the checks side by side (one per CPU), report them in order; a check that could not run fails."""
    failed = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        procs = list(pool.map(lambda check: run_command(check[1], check=False, cwd=REPO), checks))
    for (label, _), proc in zip(checks, procs, strict=True):
        ok = proc.returncode == 0
        print(f"{'ok  ' if ok else 'FAIL'} {label}")
        if not ok:
            failed += 1
            sys.stdout.write(proc.stdout + proc.stderr)
    for label, reason in unrunnable:
        failed += 1
        print(f"FAIL {label}: not run, {reason}")
    total = len(checks) + len(unrunnable)
    print(f"lint: {total - failed} passed, {failed} failed")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    env_names = selected_environments(args.env)
    unrunnable: list[Unrunnable] = []
    with tempfile.TemporaryDirectory(prefix="todo-lint-") as tmp:
        return run_checks(repo_checks(helm_lint_commands(env_names, Path(tmp), unrunnable)), unrunnable)


def repo_checks(checks: list[tuple[str, list]]) -> list[tuple[str, list]]:
    """`checks` plus the linters of the whole repository: yamllint, ruff and actionlint."""
    checks.append(("yamllint", [VENV / "bin" / "yamllint", "--strict", "-c", REPO / ".yamllint.yaml", "."]))
    checks.append(("ruff", [VENV / "bin" / "ruff", "check", "scripts", "tests"]))
    actionlint = actionlint_command()
    if actionlint:
        checks.append(("actionlint", actionlint))
    else:
        print("note: actionlint: no workflow files in .github/workflows")
    return checks


def actionlint_command(workflows: Path = WORKFLOWS) -> list | None:
    """actionlint over every workflow file (None when there is none), its `run:` scripts checked with the venv's
    pinned shellcheck (requirements.txt), as on GitHub's runners; raises ToolError when it is not built."""
    files = sorted(p for p in workflows.glob("*.y*ml")) if workflows.is_dir() else []
    if not files:
        return None
    shellcheck = VENV / "bin" / "shellcheck"
    if not shellcheck.is_file():
        raise tools.ToolError(f"shellcheck is not installed at {shellcheck}: run `make bootstrap`")
    return [tools.go_tool("actionlint"), "-no-color", "-shellcheck", shellcheck, *files]
