"""Every Kafka, topic, user and Dapr object is valid against the CRDs of the pinned upstream charts."""

from __future__ import annotations

import copy

from tests.charts.platform.eventing.support import crd_errors, render_platform
from todo_cloud.render import Manifest, get

GROUPS = ("kafka.strimzi.io/", "dapr.io/")


def custom_resources(docs: list[Manifest]) -> list[Manifest]:
    return [d for d in docs if d["apiVersion"].startswith(GROUPS)]


def test_every_custom_resource_matches_its_crd(with_consumers: list[Manifest], crds: dict[str, dict]) -> None:
    del crds  # the upstream charts in place
    resources = custom_resources(with_consumers)
    assert {d["kind"] for d in resources} >= {
        "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Component", "Configuration", "Resiliency", "Subscription"}
    errors = [e for doc in resources for e in crd_errors(doc)]
    assert errors == []


def test_the_redis_state_store_matches_its_crd(crds: dict[str, dict]) -> None:
    del crds
    store = get(render_platform("production", {"dapr": {"statestore": {"type": "redis"}}}), "Component", "statestore")
    assert crd_errors(store) == []


def test_strimzi_serves_only_v1(crds: dict[str, dict]) -> None:
    assert not [key for key in crds if key.startswith("kafka.strimzi.io/") and "/v1/" not in key]


def test_the_check_catches_an_unknown_field_and_a_wrong_api_version(crds: dict[str, dict]) -> None:
    del crds
    kafka = copy.deepcopy(get(render_platform("production"), "Kafka", "todo-chatbot-kafka"))
    kafka["spec"]["zookeeper"] = {"replicas": 3}
    assert any("'zookeeper' was unexpected" in e for e in crd_errors(kafka))
    kafka = copy.deepcopy(get(render_platform("production"), "Kafka", "todo-chatbot-kafka"))
    kafka["apiVersion"] = "kafka.strimzi.io/v1beta2"
    [error] = crd_errors(kafka)
    assert error.startswith("unknown-kind: no schema for kind Kafka in apiVersion kafka.strimzi.io/v1beta2")
