"""What the API server, Strimzi or Kafka would refuse later, found in the rendered objects first
(todo_cloud.gates.refusals, run by `todo-cloud validate`): every environment's release passes every rule,
and each rule names the object and what is wrong in a release broken in one way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.gates.synthetic_manifests import dapr_component, deployment, kafka_topic, node_pool
from todo_cloud.gates import refusals
from todo_cloud.render import Manifest, render_environment

NS = "todo-chatbot"


def test_every_environments_release_passes_every_rule(release: list[Manifest], env_name: str) -> None:
    assert [str(f) for f in refusals.check_release(release, env_name)] == []


def kafka(*listeners: tuple[str, int], name: str = "todo-chatbot") -> Manifest:
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": name, "namespace": NS},
            "spec": {"kafka": {"version": "4.3.1", "listeners": [
                {"name": n, "port": p, "type": "internal", "tls": False} for n, p in listeners]}}}


def hpa(target: str, low: int, high: int) -> Manifest:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": target, "namespace": NS},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": low, "maxReplicas": high}}


def pdb(**budget: Any) -> Manifest:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": NS},
            "spec": {**budget, "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}}}}


def policy(direction: str, peer: dict[str, Any], ports: list[Any] | None = None, chart: str = "app-0.1.0") -> Manifest:
    side = "to" if direction == "egress" else "from"
    rule: dict[str, Any] = {side: [peer]}
    if ports is not None:
        rule["ports"] = ports
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "np", "namespace": NS, "labels": {"helm.sh/chart": chart}},
            "spec": {"podSelector": {}, "policyTypes": [direction.capitalize()], direction: [rule]}}


def subscription(topic: str, pubsub: str = "pubsub", dead_letter: str | None = None, app: str = "audit") -> Manifest:
    spec: dict[str, Any] = {"pubsubname": pubsub, "topic": topic, "routes": {"default": "/events"}}
    if dead_letter:
        spec["deadLetterTopic"] = dead_letter
    return {"apiVersion": "dapr.io/v2alpha1", "kind": "Subscription",
            "metadata": {"name": f"{app}-{topic}", "namespace": NS},
            "spec": spec, "scopes": [app]}


def config_map(app: str, topics: str) -> Manifest:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"todo-chatbot-{app}", "namespace": NS},
            "data": {"DAPR_APP_ID": app, "SUBSCRIBED_TOPICS": topics}}


def own(doc: Manifest) -> Manifest:
    doc["metadata"].setdefault("labels", {})["helm.sh/chart"] = "app-0.1.0"
    return doc


def edited(doc: Manifest, change: Callable[[Manifest], None]) -> Manifest:
    doc = copy.deepcopy(doc)
    change(doc)
    return doc


def container(doc: Manifest) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]["containers"][0]


KAFKA_OK = [kafka(("plain", 9092), ("tls", 9093)), node_pool(3)]

# (id, objects, rule, text the finding must contain)
BAD: list[tuple[str, list[Manifest], str, str]] = [
    ("limit-below-request", [deployment(resources={"requests": {"memory": "512Mi"}, "limits": {"memory": "256Mi"}})],
     "resources", "spec.template.spec.containers[web].resources.limits.memory 256Mi is below its request 512Mi"),
    ("malformed-quantity", [deployment(resources={"requests": {"cpu": "two"}})], "resources",
     "'two' is not a Kubernetes quantity"),
    ("dapr-sidecar-limit-below-request", [deployment(annotations={
        "dapr.io/sidecar-cpu-request": "500m", "dapr.io/sidecar-cpu-limit": "300m"})], "resources",
     "the Dapr sidecar (dapr.io/sidecar-* annotations).limits.cpu 300m is below its request 500m"),
    ("strimzi-resources", [edited(KAFKA_OK[0], lambda k: k["spec"]["kafka"].update(resources={
        "requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}})), KAFKA_OK[1]],
     "resources", "spec.kafka.resources.limits.memory 1Gi is below its request 2Gi"),
    ("ipblock-host-bits", [policy("egress", {"ipBlock": {"cidr": "10.110.0.1/20"}})], "network-policy-blocks",
     "has host bits set (the network is 10.110.0.0/20)"),
    ("ipblock-malformed", [policy("egress", {"ipBlock": {"cidr": "10.300.0.0/16"}})], "network-policy-blocks",
     "'10.300.0.0/16' is not a CIDR"),
    ("ipblock-except-outside", [policy("egress", {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}})],
     "network-policy-blocks", "except[0] 192.168.0.0/16 is not inside cidr 10.0.0.0/8"),
    ("policy-port-out-of-range", [policy("egress", {"podSelector": {}}, [{"port": 70000}])], "ports",
     "spec.egress[0].ports[0].port 70000 is outside 1-65535"),
    ("policy-end-port-below-port", [policy("egress", {"podSelector": {}}, [{"port": 9000, "endPort": 8000}])], "ports",
     "endPort 8000"),
    ("container-port-name-too-long", [edited(deployment(), lambda d: container(d).update(ports=[
        {"name": "a-very-long-port-name", "containerPort": 8000}]))], "ports", "port name 'a-very-long-port-name'"),
    ("duplicate-container-names", [edited(deployment(), lambda d: d["spec"]["template"]["spec"]["containers"].append(
        dict(container(d))))], "ports", "two containers are named 'web'"),
    ("probe-on-an-undeclared-port-name", [edited(deployment(), lambda d: container(d).update(
        ports=[{"name": "http", "containerPort": 8000}],
        readinessProbe={"httpGet": {"path": "/", "port": "metrics"}}))],
     "probe-ports", "readinessProbe.httpGet.port is 'metrics', a port the container does not declare"),
    ("our-probe-on-an-undeclared-port-number", [own(edited(deployment(), lambda d: container(d).update(
        ports=[{"name": "http", "containerPort": 3000}], readinessProbe={"httpGet": {"path": "/", "port": "http"}})))],
     "probe-ports",
     "livenessProbe.httpGet.port is 8000, not one of its container ports [3000]"),
    ("mount-of-a-missing-volume", [edited(deployment(), lambda d: container(d).update(
        volumeMounts=[{"name": "cache", "mountPath": "/cache"}]))], "volume-mounts", "mounts 'cache'"),
    ("hpa-min-above-max", [deployment(), hpa("web", 5, 3)], "hpa-bounds",
     "spec.minReplicas 5 is above spec.maxReplicas 3"),
    ("pdb-max-unavailable-zero", [deployment(replicas=3), pdb(maxUnavailable=0)], "pdb-evictions",
     "allows no eviction of Deployment/todo-chatbot/web at its 3 replica(s)"),
    ("pdb-min-available-all", [deployment(replicas=2), pdb(minAvailable=2)], "pdb-evictions", "at its 2 replica(s)"),
    ("pdb-min-available-one-of-one", [deployment(replicas=1), pdb(minAvailable=1)], "pdb-evictions",
     "at its 1 replica(s)"),
    ("pdb-min-available-all-percent", [deployment(replicas=3), hpa("web", 3, 6), pdb(minAvailable="100%")],
     "pdb-evictions", "at its 3 replica(s)"),
    ("listeners-share-a-port", [kafka(("plain", 9092), ("tls", 9092)), node_pool(3)], "kafka-listeners",
     "listeners 'plain' and 'tls' share port 9092"),
    ("listener-on-jmx", [kafka(("plain", 9092), ("jmx", 9999)), node_pool(3)], "kafka-listeners",
     "listener 'jmx' is on port 9999"),
    ("listener-below-9092", [kafka(("plain", 9091)), node_pool(3)], "kafka-listeners",
     "listener 'plain' is on port 9091"),
    ("listeners-share-a-name", [kafka(("plain", 9092), ("plain", 9093)), node_pool(3)], "kafka-listeners",
     "two listeners are named 'plain'"),
    ("topic-of-no-cluster", [*KAFKA_OK, kafka_topic(cluster="other")], "kafka-topics",
     "label strimzi.io/cluster 'other' names no Kafka cluster"),
    ("topic-replicas-above-brokers", [kafka(("plain", 9092)), node_pool(1), kafka_topic(replicas=3, min_isr=None)],
     "kafka-topics", "spec.replicas 3 but cluster todo-chatbot has 1 broker(s)"),
    ("topic-config-unknown",
     [*KAFKA_OK, edited(kafka_topic(), lambda t: t["spec"]["config"].update({"retention.hours": 1}))],
     "kafka-topics", "'retention.hours' is not a topic configuration of Kafka"),
    ("topic-config-out-of-range", [*KAFKA_OK, edited(kafka_topic(), lambda t: t["spec"]["config"].update(
        {"min.cleanable.dirty.ratio": 1.5}))], "kafka-topics", "min.cleanable.dirty.ratio 1.5 is outside"),
    ("subscription-to-an-undeclared-topic", [*KAFKA_OK, kafka_topic(), dapr_component(["audit"]),
                                             subscription("audit-log")], "dapr-subscriptions",
     "spec.topic 'audit-log' is not a topic the platform declares"),
    ("dead-letters-to-an-undeclared-topic", [*KAFKA_OK, kafka_topic(), dapr_component(["audit"]),
                                             subscription("todo-events", dead_letter="dlq")], "dapr-subscriptions",
     "spec.deadLetterTopic 'dlq' is not a topic the platform declares"),
    ("subscription-through-a-missing-pubsub", [*KAFKA_OK, kafka_topic(), subscription("todo-events", pubsub="events")],
     "dapr-subscriptions", "spec.pubsubname 'events' is not a pub/sub component"),
    ("app-expecting-an-undelivered-topic", [*KAFKA_OK, kafka_topic(), dapr_component(["audit"]),
                                            subscription("todo-events"),
                                            config_map("audit", "todo-events,chat-events")],
     "dapr-subscriptions", "app audit expects topic 'chat-events' (SUBSCRIBED_TOPICS)"),
    ("policy-to-a-missing-kafka-cluster", [*KAFKA_OK, policy("egress", {"podSelector": {"matchLabels": {
        "strimzi.io/cluster": "todo-chatbot-kafka"}}}, [{"port": 9092}])], "kafka-peers",
     "names Strimzi cluster 'todo-chatbot-kafka', which the release does not have"),
    ("app-policy-to-a-port-no-listener-uses", [*KAFKA_OK, policy("egress", {"podSelector": {"matchLabels": {
        "strimzi.io/cluster": "todo-chatbot"}}}, [{"port": 9092}, {"port": 9094}])], "kafka-peers",
     "reaches Kafka todo-chatbot on [9094], which none of its listeners use"),
]


@pytest.mark.parametrize(("docs", "rule", "text"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_each_rule_names_the_object_and_what_would_refuse_it(docs: list[Manifest], rule: str, text: str) -> None:
    found = refusals.check_release(docs, "staging")
    assert [f.rule for f in found] == [rule], [str(f) for f in found]
    assert found[0].where.startswith("staging: ") and text in found[0].message, found[0].message


GOOD: list[tuple[str, list[Manifest]]] = [
    ("pdb-allowing-one-of-two", [deployment(replicas=2), pdb(maxUnavailable=1)]),
    ("pdb-min-available-below-hpa-minimum", [deployment(replicas=1), hpa("web", 3, 6), pdb(minAvailable=2)]),
    ("upstream-probe-on-an-undeclared-number", [deployment()]),
    ("ipblock-with-except-inside", [policy("egress", {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}})]),
    ("subscription-to-a-declared-topic", [*KAFKA_OK, kafka_topic(), dapr_component(["audit"]),
                                          subscription("todo-events"),
                                          config_map("audit", "todo-events")]),
    ("named-probe-port-declared", [edited(deployment(), lambda d: container(d).update(
        ports=[{"name": "http", "containerPort": 8000}], readinessProbe={"httpGet": {"path": "/", "port": "http"}}))]),
]


@pytest.mark.parametrize("docs", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_what_a_cluster_accepts_is_no_finding(docs: list[Manifest]) -> None:
    assert [str(f) for f in refusals.check_release(docs, "staging")] == []


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("cleanup.policy", "compact,delete", None),
    ("cleanup.policy", "compact,shred", "'shred' is not among the values"),
    ("compression.gzip.level", -1, None),
    ("compression.gzip.level", 0, "outside what Kafka"),
    ("segment.bytes", 1.5, "not a whole number"),
    ("preallocate", True, None),
    ("preallocate", "yes", "not a boolean"),
])
def test_topic_settings_are_judged_by_the_catalogue(name: str, value: Any, problem: str | None) -> None:
    verdict = refusals.topic_config_problem(name, value)
    assert (verdict is None) if problem is None else (verdict is not None and problem in verdict), verdict


def test_a_consumer_enabled_in_the_app_chart_alone_is_named_for_the_topics_it_would_never_get(
        upstream_charts: object) -> None:
    # charts/app runs audit, but platform.dapr.apps.audit stays off: no Subscription delivers its topics
    del upstream_charts
    docs = render_environment("staging", {"app": {"components": {"audit": {"enabled": True}}}})
    found = refusals.check_release(docs, "staging")
    assert {(f.where, f.rule) for f in found} == {("staging: ConfigMap/todo-chatbot/todo-chatbot-audit",
                                                   "dapr-subscriptions")}
    assert sorted(f.message.split("'")[1] for f in found) == ["chat-events", "todo-events", "user-events"]
    both = {"app": {"components": {"audit": {"enabled": True}}},
            "platform": {"dapr": {"apps": {"audit": {"enabled": True}}}}}
    assert refusals.check_release(render_environment("staging", both), "staging") == []
