"""Shared fixtures of the test suites, and the closing summary of what was skipped and why.

Rendering goes through `todo_cloud.render` (one harness for the CLI and the tests): every document
parsed, empties dropped, Helm's stderr in the error, cached by (chart, values) across xdist workers.

Prerequisites are required here, in one place, and never skipped: a test that needs the umbrella's upstream
charts (marked `upstream`, or using a fixture that needs them) fails, naming the chart and why, where `make
deps` cannot get them; a test that needs something this machine builds (`prerequisite(name)`:
todo_cloud.prereqs, built by `make test` through `make prereqs`) fails naming it and how to build it. Skips
are left for what this machine kind cannot have (Docker, kind, a container registry, DigitalOcean), each
with its reason in the closing summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from todo_cloud import deps, envs, prereqs
from todo_cloud.render import Manifest, render_environment

ENVIRONMENTS = envs.names()
UPSTREAM = "upstream"


@cache
def _deps_status() -> deps.DepsStatus:
    return deps.ensure()


def require_upstream_charts() -> deps.DepsStatus:
    """The umbrella's dependencies in place, or the calling test fails naming the chart and why."""
    status = _deps_status()
    if not status.ready:
        pytest.fail(f"upstream charts unavailable (`make deps`): {status.reason}", pytrace=False)
    return status


@pytest.fixture(scope="session")
def upstream_charts() -> deps.DepsStatus:
    """The umbrella's dependencies in place; the test fails with the one-line reason where they are not."""
    return require_upstream_charts()


@pytest.fixture(scope="session")
def prerequisite() -> Callable[[str], Path]:
    """`prerequisite(name)`: where a prerequisite of todo_cloud.prereqs is (a built binary, a folder); the test
    fails, naming it and how to build it, where it is missing."""

    def find(name: str) -> Path:
        try:
            return prereqs.find(name)
        except prereqs.Missing as exc:
            pytest.fail(f"prerequisite missing: {exc}", pytrace=False)

    return find


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark `upstream` every test that uses the upstream charts through a fixture, so that the marker alone
    says which tests need them, and `pytest_runtest_setup` requires them once for all. Marked as each test is
    collected, before `-m` selects (`-m "not upstream"` leaves out every one of them)."""
    if "upstream_charts" in getattr(item, "fixturenames", ()) and not item.get_closest_marker(UPSTREAM):
        item.add_marker(UPSTREAM)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `upstream` fails in its setup, naming the chart and why, where the charts are missing."""
    if item.get_closest_marker(UPSTREAM):
        require_upstream_charts()


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def env_name(request: pytest.FixtureRequest) -> str:
    """Each environment in turn."""
    return request.param


@pytest.fixture(scope="session")
def release(upstream_charts: deps.DepsStatus, env_name: str) -> list[Manifest]:
    """The whole umbrella release of one environment, rendered once per session."""
    del upstream_charts
    return render_environment(env_name)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` (pyproject.toml addopts): pytest-xdist 3.8 puts a test in its `xdist_group` by adding
    `@<group>` to `item._nodeid`, which pytest 9.2 no longer reads (its node ids are structured: `item._id`), so
    every group was spread over the workers and each worker started its own clusters (pytest-xdist issue 1386,
    fix pending in PR 1388). Run after xdist's hook on a worker, this puts the suffix where pytest reads it;
    it does nothing where xdist's own rewrite took effect, or without loadgroup."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    for item in items:
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                         for m in item.iter_markers("xdist_group")})
        suffix = "@" + "_".join(groups)
        if groups and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            from _pytest.nodeid import coerce_node_id

            item._id = coerce_node_id(item.nodeid + suffix)


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
