"""The platform's app table (platform.dapr.apps) agrees with the app chart's components in every environment:
the platform cannot read the app chart's values, so the two declarations are checked against each other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from todo_cloud import yamlfile
from todo_cloud.paths import CHARTS
from todo_cloud.render import subchart_values


def merged(chart: str, key: str, env: str) -> dict:
    """A chart's own defaults with the umbrella's and the environment's values for it on top."""

    def merge(base: dict, top: Mapping[str, Any]) -> dict:
        out = dict(base)
        for k, v in top.items():
            out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
        return out

    defaults = yamlfile.load(CHARTS / chart / "values.yaml") or {}
    return merge(defaults, subchart_values(key, env))


def test_every_app_component_is_a_declared_dapr_app_with_the_same_switch(env_name: str) -> None:
    components = merged("app", "app", env_name)["components"]
    apps = merged("platform", "platform", env_name)["dapr"]["apps"]
    assert set(components) <= set(apps)
    for name, component in components.items():
        assert bool(component.get("enabled", True)) == bool(apps[name]["enabled"]), name


def test_consumers_subscribe_to_the_same_topics_in_both_charts(env_name: str) -> None:
    components = merged("app", "app", env_name)["components"]
    apps = merged("platform", "platform", env_name)["dapr"]["apps"]
    for name, component in components.items():
        assert set(component.get("subscriptions") or []) == set(apps[name].get("subscribes") or {}), name
