"""`todo-cloud lint`: helm lint of our charts (the library chart once), actionlint (the pinned Go tool) on
.github/workflows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from todo_cloud import versions
from todo_cloud.commands.lint import actionlint_command, helm_lint_commands
from todo_cloud.run import run

GOOD = """\
name: ci
on: [push]
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""


@pytest.fixture(scope="module")
def actionlint(prerequisite: Callable[[str], Path]) -> Path:
    return prerequisite("actionlint")


def test_actionlint_is_pinned_and_built_by_the_bootstrap() -> None:
    pin = versions.load()["go_tools"]["actionlint"]
    assert pin["module"] == "github.com/rhysd/actionlint/cmd/actionlint"
    assert pin["version"].startswith("v") and pin["bootstrap"] is True


def test_no_workflow_means_no_actionlint_check(tmp_path: Path) -> None:
    assert actionlint_command(tmp_path) is None


def test_a_valid_workflow_passes(actionlint: Path, tmp_path: Path) -> None:
    del actionlint
    (tmp_path / "ci.yaml").write_text(GOOD)
    assert run(actionlint_command(tmp_path), check=False).returncode == 0  # type: ignore[arg-type]


def test_a_broken_workflow_is_named_with_file_line_and_rule(actionlint: Path, tmp_path: Path) -> None:
    del actionlint
    (tmp_path / "ci.yaml").write_text(GOOD.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n"
                                                   "    timeout-minutes: ${{ github.event.nope.bad( }}"))
    proc = run(actionlint_command(tmp_path), check=False)  # type: ignore[arg-type]
    assert proc.returncode == 1
    # actionlint prints the path as given or relative to the working directory, whichever is shorter.
    named = proc.stdout.split(":6:")[0].split()[-1]
    assert Path(named).resolve() == (tmp_path / "ci.yaml").resolve(), proc.stdout
    assert "[expression]" in proc.stdout or "[syntax-check]" in proc.stdout, proc.stdout


def test_helm_lint_checks_each_chart_per_environment_and_the_library_once(tmp_path: Path) -> None:
    checks = dict(helm_lint_commands(["local", "production"], tmp_path))
    ours = sorted(label for label in checks if "todo-chatbot-cloud" not in label)
    assert ours == ["helm lint --strict app (local)", "helm lint --strict app (production)",
                    "helm lint --strict platform (local)", "helm lint --strict platform (production)",
                    "helm lint --strict todo-chatbot-lib (library)"]
    library = checks["helm lint --strict todo-chatbot-lib (library)"]
    assert "--values" not in library
    proc = run(library, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
