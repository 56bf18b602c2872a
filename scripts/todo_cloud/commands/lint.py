"""`todo-cloud lint`: `helm lint --strict` for every chart with every environment's values, yamllint on
our YAML, ruff on the Python, actionlint on .github/workflows (the pinned Go tool of versions.toml).
Prints one line per check and every failure's output; exit 1 on any."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
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


def helm_lint_commands(env_names: list[str], tmp: Path) -> list[tuple[str, list]]:
    """(label, command) for every chart x environment (a library chart once); the umbrella only when its
    dependencies are in place.
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
    if deps.ensure().ready:
        for env in env_names:
            checks.append((f"helm lint --strict todo-chatbot-cloud ({env})",
                           [helm, "lint", "--strict", UMBRELLA,
                            *(a for f in envs.get(env).values_files for a in ("--values", f))]))
    return checks


def run_checks(checks: list[tuple[str, list]]) -> int:
    """Run the checks side by side (one per CPU), report them in order."""
    failed = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        procs = list(pool.map(lambda check: run_command(check[1], check=False, cwd=REPO), checks))
    for (label, _), proc in zip(checks, procs, strict=True):
        ok = proc.returncode == 0
        print(f"{'ok  ' if ok else 'FAIL'} {label}")
        if not ok:
            failed += 1
            sys.stdout.write(proc.stdout + proc.stderr)
    print(f"lint: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    env_names = selected_environments(args.env)
    with tempfile.TemporaryDirectory(prefix="todo-lint-") as tmp:
        return run_checks(repo_checks(helm_lint_commands(env_names, Path(tmp))))


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
    """actionlint over every workflow file (None when there is none); raises ToolError when it is not built."""
    files = sorted(p for p in workflows.glob("*.y*ml")) if workflows.is_dir() else []
    if not files:
        return None
    return [tools.go_tool("actionlint"), "-no-color", *files]
