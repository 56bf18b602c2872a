"""Project rules across objects (todo_cloud.gates.project), run by `todo-cloud policy`."""

from __future__ import annotations

import pytest

from tests.gates.synthetic_manifests import dapr_component, deployment, kafka_topic, network_policy, node_pool
from todo_cloud.gates import own_object_keys, project
from todo_cloud.gates.project import selector_matches
from todo_cloud.manifests import object_key

ALL = {"matchLabels": {}}


def rules_of(findings) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(f.where, f.rule) for f in findings]


def hpa(target: str, min_replicas: int) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": target, "namespace": "todo-chatbot"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": min_replicas, "maxReplicas": 5}}


def pdb(labels: dict) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "pdb", "namespace": "todo-chatbot"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}}


@pytest.mark.parametrize(("selector", "labels", "matches"), [
    ({}, {"a": "1"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "2"}}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
])
def test_label_selectors_match_as_kubernetes_does(selector: dict, labels: dict, matches: bool) -> None:
    assert selector_matches(selector, labels) is matches


class TestNetworkPolicyCoverage:
    def test_a_pod_no_network_policy_selects_is_a_finding(self) -> None:
        docs = [deployment("web"), network_policy({"matchLabels": {"app.kubernetes.io/name": "api"}})]
        assert rules_of(project.check_release(docs, "staging")) == [
            ("staging: Deployment/todo-chatbot/web", "network-policy-coverage")]

    def test_a_policy_of_another_namespace_does_not_cover(self) -> None:
        policy = network_policy(ALL)
        policy["metadata"]["namespace"] = "monitoring"
        assert rules_of(project.check_release([deployment("web"), policy], "local")) == [
            ("local: Deployment/todo-chatbot/web", "network-policy-coverage")]

    def test_a_selecting_policy_covers(self) -> None:
        docs = [deployment("web"), network_policy({"matchLabels": {"app.kubernetes.io/name": "web"}})]
        assert project.check_release(docs, "local") == []


class TestPdbAndHpa:
    def test_a_multi_replica_workload_needs_both(self) -> None:
        findings = project.check_release([deployment("web", replicas=2), network_policy(ALL)], "production")
        assert rules_of(findings) == [("production: Deployment/todo-chatbot/web", "pdb-and-hpa")] * 2
        assert {f.message.split(" but ")[1].split(" ")[1] for f in findings} == {"HorizontalPodAutoscaler",
                                                                                   "PodDisruptionBudget"}

    def test_hpa_min_replicas_make_a_workload_multi_replica(self) -> None:
        docs = [deployment("web", replicas=1), hpa("web", 2), network_policy(ALL)]
        [finding] = project.check_release(docs, "production")
        assert finding.rule == "pdb-and-hpa" and "no PodDisruptionBudget" in finding.message

    def test_a_single_replica_workload_needs_neither(self) -> None:
        assert project.check_release([deployment("web"), network_policy(ALL)], "local") == []

    def test_covered_workload_passes(self) -> None:
        labels = {"app.kubernetes.io/name": "web"}
        docs = [deployment("web", replicas=3), hpa("web", 3), pdb(labels), network_policy(ALL)]
        assert project.check_release(docs, "production") == []

    def test_an_upstream_workload_needs_a_pdb_but_no_hpa(self) -> None:
        upstream = deployment("dapr-operator", replicas=3)
        findings = project.check_release([upstream, network_policy(ALL)], "production", own=set())
        assert [f.message for f in findings] == ["3 replicas but no PodDisruptionBudget selects its pods"]


class TestDaprScopes:
    def dapr_app(self, app_id: str) -> dict:
        return deployment(app_id, annotations={"dapr.io/enabled": "true", "dapr.io/app-id": app_id})

    def test_a_scope_that_names_no_app_is_a_finding(self) -> None:
        docs = [self.dapr_app("backend"), dapr_component(["backend", "notifier"]), network_policy(ALL)]
        [finding] = project.check_release(docs, "staging")
        assert (finding.where, finding.rule) == ("staging: Component/todo-chatbot/pubsub", "dapr-scopes")
        assert "'notifier'" in finding.message

    def test_an_unscoped_component_is_a_finding(self) -> None:
        docs = [self.dapr_app("backend"), dapr_component(None), network_policy(ALL)]
        assert rules_of(project.check_release(docs, "local")) == [
            ("local: Component/todo-chatbot/pubsub", "dapr-scopes")]

    def test_matching_scopes_pass(self) -> None:
        docs = [self.dapr_app("backend"), dapr_component(["backend"]), network_policy(ALL)]
        assert project.check_release(docs, "local") == []


class TestKafkaTopicMinIsr:
    def test_replicas_not_above_min_isr_is_a_finding(self) -> None:
        [finding] = project.check_release([kafka_topic(replicas=2, min_isr=2), node_pool(3)], "production")
        assert (finding.where, finding.rule) == ("production: KafkaTopic/todo-chatbot/todo-events",
                                                 "kafka-topic-min-isr")

    def test_the_cluster_default_applies_when_the_topic_sets_none(self) -> None:
        kafka = {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka",
                 "metadata": {"name": "todo-chatbot", "namespace": "todo-chatbot"},
                 "spec": {"kafka": {"config": {"min.insync.replicas": 3}}}}
        [finding] = project.check_release([kafka_topic(replicas=3, min_isr=None), kafka, node_pool(3)], "staging")
        assert "from Kafka todo-chatbot" in finding.message

    def test_a_single_broker_cluster_is_exempt(self) -> None:
        assert project.check_release([kafka_topic(replicas=1, min_isr=1), node_pool(1)], "local") == []

    def test_replicas_above_min_isr_pass(self) -> None:
        assert project.check_release([kafka_topic(replicas=3, min_isr=2), node_pool(3)], "production") == []


@pytest.mark.upstream
def test_every_environment_passes_the_project_rules(release, env_name) -> None:  # type: ignore[no-untyped-def]
    own = own_object_keys(env_name)
    assert own <= {object_key(d) for d in release}, "our charts' objects must be part of the release"
    findings = project.check_release(release, env_name, own)
    assert findings == [], "\n".join(map(str, findings))
