"""Kafka UI (the umbrella's kafka-ui dependency, switched by platform.kafkaUi.enabled), per environment: on in local
only; reachable through port-forward alone (a ClusterIP Service, no route, no ingress); signed in to the cluster the
platform renders as its own KafkaUser, whose ACLs (through the one ACL helper) let it read and describe, never write
or alter; restricted pod security; a NetworkPolicy of the platform's table."""

from __future__ import annotations

import pytest

from tests.charts.platform.eventing.support import ALL_CONSUMERS_ON, ANALYTICS, CONSUMERS, render_platform
from todo_cloud.manifests import containers, pod_spec
from todo_cloud.render import Manifest, find, get

NAME = "todo-chatbot-kafka-ui"
READ_ONLY = {"Read", "Describe"}


def ui_objects(docs: list[Manifest]) -> list[Manifest]:
    return [d for d in docs if (d["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == "kafka-ui"
            or d["metadata"]["name"] in (NAME, "eventing-kafka-ui")]


def test_kafka_ui_runs_in_local_only(release: list[Manifest], env_name: str) -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in ui_objects(release)}
    if env_name == "local":
        assert {("Deployment", NAME), ("Service", NAME), ("KafkaUser", NAME),
                ("NetworkPolicy", "eventing-kafka-ui")} <= kinds
    else:
        assert kinds == set(), f"{env_name} runs Kafka UI by default"


@pytest.fixture(scope="module")
def local(upstream_charts) -> list[Manifest]:  # type: ignore[no-untyped-def]
    from todo_cloud.render import render_environment

    del upstream_charts
    return render_environment("local")


def test_it_is_reached_through_port_forward_only(local: list[Manifest]) -> None:
    assert get(local, "Service", NAME)["spec"]["type"] == "ClusterIP"
    routes = [r for kind in ("HTTPRoute", "Ingress") for r in find(local, kind)]
    backends = [str(r["spec"]) for r in routes]
    assert not [b for b in backends if NAME in b], "a route or ingress leads to Kafka UI"


def test_it_signs_in_as_its_kafka_user_over_the_tls_listener_trusting_the_cluster_ca(local: list[Manifest]) -> None:
    kafka = find(local, "Kafka")[0]
    tls = next(listener for listener in kafka["spec"]["kafka"]["listeners"] if listener["tls"])
    config = get(local, "ConfigMap", f"{NAME}-fromvalues")["data"]["config.yml"]
    assert f"bootstrapServers: {kafka['metadata']['name']}-kafka-bootstrap:{tls['port']}" in config
    assert "readOnly: true" in config and "sasl.mechanism: SCRAM-SHA-512" in config
    (container,) = containers(get(local, "Deployment", NAME))
    jaas = next(e for e in container["env"] if e["name"] == "KAFKA_CLUSTERS_0_PROPERTIES_SASL_JAAS_CONFIG")
    assert jaas["valueFrom"]["secretKeyRef"] == {"name": NAME, "key": "sasl.jaas.config"}
    volumes = {v["name"]: v for v in pod_spec(get(local, "Deployment", NAME))["volumes"]}
    assert volumes["kafka-ca"]["secret"]["secretName"] == f"{kafka['metadata']['name']}-cluster-ca-cert"


@pytest.mark.parametrize("consumers", [False, True], ids=["default-apps", "every-consumer-on"])
def test_its_kafka_user_may_read_and_describe_only(consumers: bool) -> None:
    docs = render_platform("local", {"kafkaUi": {"enabled": True}, **(ALL_CONSUMERS_ON if consumers else {})})
    acls = get(docs, "KafkaUser", NAME)["spec"]["authorization"]["acls"]
    topics = {a["resource"]["name"]: set(a["operations"]) for a in acls if a["resource"]["type"] == "topic"}
    groups = {a["resource"]["name"]: set(a["operations"]) for a in acls if a["resource"]["type"] == "group"}
    assert {a["resource"]["type"] for a in acls} <= {"topic", "group"}, "no cluster operation"
    assert all(a["resource"]["patternType"] == "literal" for a in acls)
    pubsub = get(docs, "KafkaUser", "dapr-pubsub")["spec"]["authorization"]["acls"]
    all_topics = {t["spec"].get("topicName", t["metadata"]["name"]) for t in find(docs, "KafkaTopic")}
    assert topics == {t: READ_ONLY for t in all_topics}
    subscribers = {a["resource"]["name"] for a in pubsub if a["resource"]["type"] == "group"}
    assert groups == {g: {"Describe"} for g in subscribers}
    assert set(groups) == {ANALYTICS, *(CONSUMERS if consumers else ())}  # analytics subscribes by default


def test_its_pod_meets_pod_security_restricted(local: list[Manifest]) -> None:
    deployment = get(local, "Deployment", NAME)
    spec = pod_spec(deployment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = containers(deployment)
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}


def test_its_network_policy_selects_its_pods(local: list[Manifest]) -> None:
    policy = get(local, "NetworkPolicy", "eventing-kafka-ui")
    labels = get(local, "Deployment", NAME)["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in policy["spec"]
