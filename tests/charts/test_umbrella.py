"""The umbrella release of each environment: every dependency rendered, each behind its condition."""

from __future__ import annotations

import pytest

from todo_cloud import deps
from todo_cloud.render import Manifest, find, render_environment

# One workload that proves each upstream chart is part of the release.
DEPENDENCY_MARKERS = {
    "strimzi-kafka-operator": ("Deployment", "strimzi-cluster-operator"),
    "dapr": ("Deployment", "dapr-operator"),
    "kube-prometheus-stack": ("Prometheus", "todo-chatbot-kube-promethe-prometheus"),
    "loki": ("StatefulSet", "todo-chatbot-loki"),
    "jaeger": ("Deployment", "todo-chatbot-jaeger"),
}


@pytest.mark.parametrize("dependency", sorted(DEPENDENCY_MARKERS))
def test_every_upstream_dependency_is_in_the_release(release: list[Manifest], dependency: str) -> None:
    kind, name = DEPENDENCY_MARKERS[dependency]
    assert find(release, kind, name), f"{dependency}: no {kind} {name}"


@pytest.mark.parametrize("dependency", sorted(DEPENDENCY_MARKERS))
def test_disabled_dependency_leaves_the_release(upstream_charts: deps.DepsStatus, dependency: str) -> None:
    del upstream_charts
    kind, name = DEPENDENCY_MARKERS[dependency]
    docs = render_environment("local", {dependency: {"enabled": False}})
    assert not find(docs, kind, name)


def test_every_object_has_kind_name_and_api_version(release: list[Manifest]) -> None:
    for doc in release:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), doc
