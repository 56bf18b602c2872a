"""Retention values of the observability stack: checked in the umbrella defaults and every environment by
`make generate`; a malformed value, or a Prometheus size cap not below its volume, fails naming the key."""

from __future__ import annotations

import copy

import pytest

from todo_cloud import envs, yamlfile
from todo_cloud.observability import ObservabilityError, retention
from todo_cloud.paths import UMBRELLA
from todo_cloud.render import deep_merge, lookup

DEFAULTS = yamlfile.load(UMBRELLA / "values.yaml")
PRODUCTION = DEFAULTS
for _file in envs.get("production").values_files:  # its profile's layer, then its own file
    PRODUCTION = deep_merge(PRODUCTION, yamlfile.load(_file))


def with_value(path: tuple[str, ...], value: object) -> dict:
    values = copy.deepcopy(PRODUCTION)
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return values


def test_committed_values_pass() -> None:
    retention.check_environments()


@pytest.mark.parametrize("path,bad", [
    (("kube-prometheus-stack", "prometheus", "prometheusSpec", "retention"), "15 days"),
    (("kube-prometheus-stack", "prometheus", "prometheusSpec", "retention"), "15D"),
    (("kube-prometheus-stack", "prometheus", "prometheusSpec", "retentionSize"), "40 gigabytes"),
    (("kube-prometheus-stack", "alertmanager", "alertmanagerSpec", "retention"), "5d"),
    (("loki", "loki", "limits_config", "retention_period"), "31d"),
    (("loki", "loki", "limits_config", "retention_period"), 744),
])
def test_malformed_retention_fails_naming_file_and_key(path: tuple[str, ...], bad: object) -> None:
    with pytest.raises(ObservabilityError, match=rf"values/production.yaml: {'.'.join(path)}: {bad!r} is not"):
        retention.check_values(with_value(path, bad), "values/production.yaml")


@pytest.mark.parametrize("size", ["52GB", "50GiB", "60GiB"])
def test_retention_size_not_below_the_volume_fails(size: str) -> None:
    values = with_value(("kube-prometheus-stack", "prometheus", "prometheusSpec", "retentionSize"), size)
    with pytest.raises(ObservabilityError, match=rf"retentionSize: {size} does not stay below 95% of the volume"):
        retention.check_values(values, "values/production.yaml")


def test_volume_without_retention_size_fails() -> None:
    values = with_value(("kube-prometheus-stack", "prometheus", "prometheusSpec", "retentionSize"), "")
    volume = lookup(PRODUCTION, retention.VOLUME)
    with pytest.raises(ObservabilityError, match=f"retentionSize: needed below the volume size {volume}"):
        retention.check_values(values, "values/production.yaml")
