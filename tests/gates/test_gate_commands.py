"""The gate commands' output: one `FAIL <where>: [<rule>] <message>` line per finding, then a summary."""

from __future__ import annotations

import re

import pytest

from todo_cloud.cli import main

FINDING = re.compile(r"^FAIL (?P<where>\S.*?): \[(?P<rule>[^\]]+)\] (?P<message>\S.*)$")


@pytest.mark.upstream
def test_validate_prints_one_line_per_finding_and_a_summary_per_environment(upstream_charts, capsys) -> None:  # type: ignore[no-untyped-def]
    del upstream_charts
    code = main(["validate", "--env", "production"])
    lines = capsys.readouterr().out.splitlines()
    fails = [line for line in lines if line.startswith("FAIL ")]
    assert code == (1 if fails else 0)
    assert all(FINDING.match(line) for line in fails), fails
    assert all(FINDING.match(line)["where"].startswith(("production: ", "values/", "config/")) for line in fails)
    assert any(re.match(r"^validate production: \d+ objects, \d+ finding\(s\)$", line) for line in lines)
    assert any(line.startswith("validate values: ") for line in lines)


def test_an_unknown_environment_is_refused_with_the_valid_ones(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["validate", "--env", "qa"]) == 2
    assert "valid environments: local, staging, production" in capsys.readouterr().err


@pytest.mark.upstream
def test_policy_lists_every_skip_with_its_reason(upstream_charts, capsys) -> None:  # type: ignore[no-untyped-def]
    del upstream_charts
    code = main(["policy"])
    lines = capsys.readouterr().out.splitlines()
    fails = [line for line in lines if line.startswith("FAIL ")]
    assert code == (1 if fails else 0)
    assert all(FINDING.match(line) for line in fails), fails
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert skipped and all(re.match(r"^skipped CKV\w+ \((everywhere|upstream): .{20,}\)", s) for s in skipped)
    assert any(line.startswith("project rules: ") for line in lines)
    assert lines[-1] == f"policy: {len(fails)} finding(s)"
