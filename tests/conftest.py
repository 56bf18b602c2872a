"""Shared fixtures of the test suites, and the closing summary of what was skipped and why.

Rendering goes through `todo_cloud.render` (one harness for the CLI and the tests): every document
parsed, empties dropped, Helm's stderr in the error, cached by (chart, values) across xdist workers.
"""

from __future__ import annotations

from collections import Counter

import pytest

from todo_cloud import deps, envs
from todo_cloud.render import Manifest, render_environment

ENVIRONMENTS = envs.names()


@pytest.fixture(scope="session")
def upstream_charts() -> deps.DepsStatus:
    """The umbrella's dependencies in place; skips (with the one-line reason) where they cannot be had."""
    status = deps.ensure()
    if not status.ready:
        pytest.skip(f"upstream charts unavailable: {status.reason}")
    return status


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def env_name(request: pytest.FixtureRequest) -> str:
    """Each environment in turn."""
    return request.param


@pytest.fixture(scope="session")
def release(upstream_charts: deps.DepsStatus, env_name: str) -> list[Manifest]:
    """The whole umbrella release of one environment, rendered once per session."""
    del upstream_charts
    return render_environment(env_name)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    """End the run with what was skipped and why, grouped by reason."""
    del exitstatus, config
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: Counter[str] = Counter()
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    terminalreporter.section("what was skipped, and why")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:4d} skipped: {reason}")
