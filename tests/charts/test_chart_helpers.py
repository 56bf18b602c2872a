"""Named templates of our charts: each carries its chart's name (subcharts of the umbrella share one template
namespace) and the comment right above it shows its exact call (`Usage:`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from todo_cloud.paths import CHARTS

DEFINE = re.compile(r'\{\{-? define "([^"]+)" -?\}\}')
OURS = ("app", "platform", "todo-chatbot-lib")


def helpers(chart: str) -> list[tuple[Path, str, str]]:
    """(file, name, the comment right above the define) of every named template of `chart`."""
    found = []
    for path in sorted((CHARTS / chart / "templates").rglob("*.tpl")):
        text = path.read_text()
        for match in DEFINE.finditer(text):
            before = text[:match.start()].rstrip()
            comment = before[before.rfind("{{/*"):] if before.endswith("*/}}") else ""
            found.append((path, match.group(1), comment))
    return found


@pytest.mark.parametrize("chart", OURS)
def test_every_helper_is_named_after_its_chart_and_shows_its_call(chart: str) -> None:
    found = helpers(chart)
    assert found
    unnamed = [name for _, name, _ in found if not name.startswith(f"{chart}.")]
    assert unnamed == []
    without_usage = [name for _, name, comment in found
                     if not re.search(rf'Usage: .*(include|template) "{re.escape(name)}"', comment)]
    assert without_usage == []


def test_no_chart_defines_a_helper_twice() -> None:
    names = [name for chart in OURS for _, name, _ in helpers(chart)]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []
