"""The one CLI and the Makefile around it: bad input is named, valid environments are listed."""

from __future__ import annotations

import re

import pytest

from todo_cloud.cli import main
from todo_cloud.commands import COMMANDS
from todo_cloud.paths import REPO
from todo_cloud.run import run


def test_every_subcommand_of_the_issue_exists() -> None:
    assert {"render", "lint", "validate", "policy", "report", "deploy", "smoke", "publish"} <= set(COMMANDS)


def test_unknown_environment_lists_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "--env", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown environment 'nope'" in err and "local, staging, production" in err


def test_make_render_with_unknown_env_fails_naming_the_valid_ones() -> None:
    proc = run(["make", "-s", "render", "ENV=nope"], check=False, cwd=REPO, timeout=300)
    assert proc.returncode != 0
    assert "valid environments: local, staging, production" in proc.stderr


def test_make_up_without_docker_says_why_and_what_to_run_instead() -> None:
    from todo_cloud.local import lifecycle

    if lifecycle.missing() is None:
        pytest.skip("Docker and kind are present: make up would really create a cluster")
    proc = run(["make", "-s", "up"], check=False, cwd=REPO, timeout=300)
    assert proc.returncode != 0
    # make's own "*** [up] Error 1" trailer aside, the tool says it in one line.
    lines = [line for line in proc.stderr.strip().splitlines() if not re.match(r"make(\[\d+\])?:", line)]
    assert len(lines) == 1 and "make sim-up" in lines[0], proc.stderr
