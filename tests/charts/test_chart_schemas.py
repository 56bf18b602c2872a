"""values.schema.json of our charts (scripts/todo_cloud/generate/chart_schemas.py, from schema/*.yaml): strict
for our keys, every key described, the key Helm adds for the library chart holding nothing but `global`, and
the globals the library's helpers read checked in every chart that uses it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from todo_cloud.generate import chart_schemas
from todo_cloud.paths import CHARTS
from todo_cloud.render import RenderError, render_subchart

CHARTS_WITH_VALUES = [chart.name for chart in chart_schemas.schema_charts()]
LIBRARY = "todo-chatbot-lib"


def nodes(node: Any, path: str) -> Iterator[tuple[str, dict]]:
    """Every schema node under `node` (properties, map values, items, definitions, alternatives), by path."""
    if not isinstance(node, dict):
        return
    yield path, node
    for key, sub in (node.get("properties") or {}).items():
        yield from nodes(sub, f"{path}.{key}")
    for key in ("additionalProperties", "items"):
        yield from nodes(node.get(key), f"{path}.{key}")
    for key, sub in (node.get("definitions") or {}).items():
        yield from nodes(sub, f"{path}.definitions.{key}")
    for key in ("oneOf", "anyOf"):
        for i, sub in enumerate(node.get(key) or []):
            yield from nodes(sub, f"{path}.{key}[{i}]")


def schema(chart: str) -> dict:
    return json.loads((CHARTS / chart / "values.schema.json").read_text())


def test_both_charts_have_a_schema_and_the_library_none() -> None:
    assert CHARTS_WITH_VALUES == ["app", "platform"]
    assert not (CHARTS / LIBRARY / "values.schema.json").exists()


@pytest.mark.parametrize("chart", CHARTS_WITH_VALUES)
def test_every_object_with_keys_refuses_unknown_keys_but_global(chart: str) -> None:
    open_objects = [path for path, node in nodes(schema(chart), chart)
                    if "properties" in node and node.get("additionalProperties") is not False]
    assert open_objects == [f"{chart}.global"]


@pytest.mark.parametrize("chart", CHARTS_WITH_VALUES)
def test_every_key_is_described(chart: str) -> None:
    undescribed = [f"{path}.{key}" for path, node in nodes(schema(chart), chart)
                   for key, sub in (node.get("properties") or {}).items() if not sub.get("description")]
    assert undescribed == []


@pytest.mark.parametrize("chart", CHARTS_WITH_VALUES)
def test_the_key_helm_adds_for_the_library_holds_only_global(chart: str) -> None:
    assert chart_schemas.library_dependencies(CHARTS / chart) == {LIBRARY: CHARTS / LIBRARY}
    with pytest.raises(RenderError, match=f"at '/{LIBRARY}': additional properties 'helpers' not allowed"):
        render_subchart(chart, "local", {LIBRARY: {"helpers": True}})


@pytest.mark.parametrize("chart", CHARTS_WITH_VALUES)
def test_the_environment_the_library_reads_is_checked_in_every_chart(chart: str) -> None:
    with pytest.raises(RenderError, match="at '/global/environment'"):
        render_subchart(chart, "local", {"global": {"environment": "prod"}})


@pytest.mark.parametrize("chart", CHARTS_WITH_VALUES)
def test_globals_of_upstream_charts_pass_and_change_nothing_of_ours(chart: str) -> None:
    with_global = render_subchart(chart, "local", {"global": {"imageRegistry": "mirror.example.com"}})
    assert with_global == render_subchart(chart, "local")
