"""`todo-cloud lint`: helm lint of our charts (the library chart once), actionlint (the pinned Go tool) on
.github/workflows; the real gate on this tree, and what a clean clone lacks (an empty folder) or cannot have (the
upstream charts) fails it rather than being left out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from todo_cloud import deps, envs, versions
from todo_cloud.cli import main
from todo_cloud.commands.lint import actionlint_command, helm_lint_commands, run_checks
from todo_cloud.paths import CHARTS, REPO
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


@pytest.mark.upstream
def test_the_lint_gate_passes_on_this_tree(capsys: pytest.CaptureFixture) -> None:
    """The real gate `make lint` runs (every helm lint, yamllint, ruff, actionlint), as CI runs it."""
    assert main(["lint"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"lint: {len(out) - 1} passed, 0 failed"
    assert {"ok   yamllint", "ok   ruff", "ok   actionlint"} <= set(out)
    assert {f"ok   helm lint --strict todo-chatbot-cloud ({env})" for env in envs.names()} <= set(out)


def test_the_umbrella_without_its_charts_fails_the_lint_instead_of_leaving_it_out(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(deps, "ensure", lambda: deps.DepsStatus(False, "none", "upstream chart demo 1.2.3: gone"))
    unrunnable: list[tuple[str, str]] = []
    checks = dict(helm_lint_commands(["local"], tmp_path, unrunnable))
    assert not [label for label in checks if "todo-chatbot-cloud" in label]
    assert unrunnable == [("helm lint --strict todo-chatbot-cloud (local)",
                           "upstream charts unavailable (`make deps`): upstream chart demo 1.2.3: gone")]
    assert run_checks([], unrunnable) == 1
    assert capsys.readouterr().out.splitlines() == [
        "FAIL helm lint --strict todo-chatbot-cloud (local): not run, upstream charts unavailable (`make deps`): "
        "upstream chart demo 1.2.3: gone", "lint: 0 passed, 1 failed"]


@pytest.mark.parametrize("chart", sorted(p.parent.name for p in CHARTS.glob("*/Chart.yaml")))
def test_every_chart_folder_helm_lint_needs_is_in_git(chart: str) -> None:
    """git keeps no empty folder: a templates/ that exists only in a working copy passes `helm lint --strict`
    there and fails it on a clean clone."""
    tracked = run(["git", "-C", REPO, "ls-files", f"charts/{chart}/templates"]).stdout.split()
    assert tracked, f"charts/{chart}/templates holds no tracked file: `helm lint --strict` fails on a clean clone"


def test_run_scripts_are_checked_with_shellcheck_as_on_githubs_runners(actionlint: Path, tmp_path: Path) -> None:
    del actionlint
    (tmp_path / "ci.yaml").write_text(GOOD.replace("      - run: make test", "      - run: cd $HOME && make test"))
    proc = run(actionlint_command(tmp_path), check=False)  # type: ignore[arg-type]
    assert proc.returncode == 1
    assert "[shellcheck]" in proc.stdout and "SC2086" in proc.stdout, proc.stdout
