"""NetworkPolicies that keep the Strimzi operator, the Kafka pods and the Dapr control plane working under a
default-deny namespace."""

from __future__ import annotations

import pytest
from eventing_chart import CLUSTER, render_platform

from todo_cloud.render import Manifest, find, get

POLICIES = ("eventing-strimzi-operator", "eventing-kafka", "eventing-kafka-entity-operator",
            "eventing-dapr-control-plane")


def ports(rules: list[dict]) -> set[int]:
    return {p["port"] for rule in rules for p in rule.get("ports", [])}


def allows_dns(policy: dict) -> bool:
    return any(53 in {p["port"] for p in r.get("ports", [])} for r in policy["spec"]["egress"])


@pytest.mark.parametrize("name", POLICIES)
def test_every_eventing_policy_allows_dns(platform: list[Manifest], name: str) -> None:
    assert allows_dns(get(platform, "NetworkPolicy", name))


def test_operators_reach_the_api_server(platform: list[Manifest]) -> None:
    for name in ("eventing-strimzi-operator", "eventing-kafka-entity-operator", "eventing-dapr-control-plane"):
        assert {443, 6443} <= ports(get(platform, "NetworkPolicy", name)["spec"]["egress"]), name


def test_the_strimzi_operator_reaches_the_kafka_pods(platform: list[Manifest]) -> None:
    spec = get(platform, "NetworkPolicy", "eventing-strimzi-operator")["spec"]
    assert spec["podSelector"]["matchLabels"] == {"name": "strimzi-cluster-operator"}
    to_kafka = [r for r in spec["egress"] if r.get("to", [{}])[0].get("podSelector", {}).get("matchLabels") == {
        "strimzi.io/cluster": CLUSTER}]
    assert ports(to_kafka) == {9090, 9091, 8443}


def test_kafka_pods_talk_to_each_other_and_admit_sidecars_on_the_listeners(platform: list[Manifest]) -> None:
    spec = get(platform, "NetworkPolicy", "eventing-kafka")["spec"]
    assert spec["podSelector"]["matchLabels"] == {"strimzi.io/cluster": CLUSTER}
    assert {9090, 9091, 9092, 9093} <= ports(spec["egress"])
    listener_rule = next(r for r in spec["ingress"] if 9093 in ports([r]))
    sources = [s["podSelector"]["matchLabels"] for s in listener_rule["from"]]
    assert {"dapr.io/sidecar-injected": "true"} in sources


def test_the_dapr_control_plane_serves_sidecars_and_the_api_server(platform: list[Manifest]) -> None:
    spec = get(platform, "NetworkPolicy", "eventing-dapr-control-plane")["spec"]
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "dapr"}
    from_sidecars = next(r for r in spec["ingress"] if r.get("from", [{}])[0].get("podSelector", {}).get(
        "matchLabels") == {"dapr.io/sidecar-injected": "true"})
    assert ports([from_sidecars]) == {50001, 6500, 50005, 50006}
    webhooks = next(r for r in spec["ingress"] if "from" not in r)
    assert ports([webhooks]) == {4000, 19443}


def test_prometheus_may_scrape_the_metrics_ports(platform: list[Manifest]) -> None:
    for name, port in (("eventing-kafka", 9404), ("eventing-dapr-control-plane", 9090),
                       ("eventing-strimzi-operator", 8080)):
        rules = get(platform, "NetworkPolicy", name)["spec"]["ingress"]
        scrape = [r for r in rules if r.get("from", [{}])[0].get("podSelector", {}).get("matchLabels") == {
            "app.kubernetes.io/name": "prometheus"}]
        assert port in ports(scrape), name


def test_the_policies_can_be_switched_off() -> None:
    docs = render_platform("production", {"kafka": {"networkPolicy": {"enabled": False}},
                                          "dapr": {"networkPolicy": {"enabled": False}}})
    assert not [p for p in find(docs, "NetworkPolicy") if p["metadata"]["name"].startswith("eventing-")]
