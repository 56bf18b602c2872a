"""NetworkPolicies of charts/platform (the table `networkPolicy` of its values, one template): in every
environment, each policy selects its pods and lets through exactly its flows, as (peer, port) pairs; the
table's switches, peers, port sets and template expressions; guards that name the offending key.

A flow is one (peer, port) pair a policy admits in one direction: a rule admits every pair of its peers
and ports, so two renders that admit the same pairs are the same policy however their rules are split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from todo_cloud import envs, yamlfile
from todo_cloud.paths import CHARTS
from todo_cloud.render import (
    Manifest,
    RenderError,
    deep_merge,
    find,
    get,
    render_chart,
    render_subchart,
    subchart_values,
)

Peer = tuple[Any, ...]
Port = tuple[str, Any]
Flow = tuple[Peer | str, Port | str]

ANY = "any"
API_SERVER = (443, 6443)
DAPR_CONTROL_PLANE = (50001, 6500, 50005, 50006)


def pods(labels: Mapping[str, str] | None = None, namespace: str | None = None) -> Peer:
    """Pods with `labels` (all pods: none) of `namespace` (None: the policy's own namespace)."""
    return ("pods", namespace, frozenset((labels or {}).items()))


def app(name: str, namespace: str | None = None) -> Peer:
    return pods({"app.kubernetes.io/name": name}, namespace)


def cidr(block: str) -> Peer:
    return ("cidr", block)


def tcp(port: int) -> Port:
    return ("TCP", port)


def udp(port: int) -> Port:
    return ("UDP", port)


def flows(peers: Iterable[Peer | str], ports: Iterable[Port | int | str]) -> set[Flow]:
    """Every (peer, port) pair of one rule; a bare number is a TCP port."""
    norm = [tcp(p) if isinstance(p, int) else p for p in ports]
    return {(peer, port) for peer in peers for port in norm}


def peer_of(peer: dict) -> Peer:
    """A rendered NetworkPolicyPeer in the form of `pods` / `cidr`."""
    if "ipBlock" in peer:
        assert set(peer) == {"ipBlock"} and set(peer["ipBlock"]) == {"cidr"}, peer
        return cidr(peer["ipBlock"]["cidr"])
    namespace = None
    if "namespaceSelector" in peer:
        ns_labels = peer["namespaceSelector"]
        assert set(ns_labels) == {"matchLabels"} and set(ns_labels["matchLabels"]) == {"kubernetes.io/metadata.name"}
        namespace = ns_labels["matchLabels"]["kubernetes.io/metadata.name"]
    selector = peer.get("podSelector") or {}
    assert "matchExpressions" not in selector, f"peer by expression: {peer}"
    return pods(selector.get("matchLabels"), namespace)


def rendered_flows(policy: Manifest, direction: str) -> set[Flow]:
    key = "from" if direction == "ingress" else "to"
    out: set[Flow] = set()
    for rule in policy["spec"].get(direction) or []:
        assert key not in rule or rule[key], f"{direction} rule with an empty {key}: {rule}"
        peers = [peer_of(p) for p in rule[key]] if key in rule else [ANY]
        ports = [(p.get("protocol", "TCP"), p["port"]) for p in rule["ports"]] if rule.get("ports") else [ANY]
        out |= {(peer, port) for peer in peers for port in ports}
    return out


@dataclass(frozen=True)
class Expected:
    """One policy: its namespace, part (component label), podSelector, directions and flows."""

    namespace: str | None
    part: str
    pod_selector: dict
    ingress: set[Flow] = field(default_factory=set)
    egress: set[Flow] = field(default_factory=set)
    policy_types: tuple[str, ...] = ("Ingress", "Egress")


def platform_values(env: str) -> dict:
    """The platform chart's values in `env`: its values.yaml under what the umbrella hands it."""
    defaults = yamlfile.load(CHARTS / "platform" / "values.yaml")
    return deep_merge(defaults, subchart_values("platform", env))


def app_database(env: str) -> tuple[str, int]:
    """PostgreSQL's CIDR and port as their owner, the app chart's networkPolicy.database, says in `env`."""
    defaults = yamlfile.load(CHARTS / "app" / "values.yaml")
    database = deep_merge(defaults, subchart_values("app", env))["networkPolicy"]["database"]
    return database["cidr"], database["port"]


def expected(env: str) -> dict[str, Expected]:
    """The platform's network contract in `env`: names and ports owned elsewhere (the release namespace, the
    Kafka cluster and its listeners, PostgreSQL's address) are read from their owners."""
    ns = envs.get(env).namespace
    node = f"{ns}-node"
    kafka_values = platform_values(env)["kafka"]
    cluster = kafka_values["name"]
    listeners = [tcp(listener["port"]) for listener in kafka_values["listeners"].values()]
    kafka = pods({"strimzi.io/cluster": cluster})
    operator = pods({"name": "strimzi-cluster-operator"})
    dapr = pods({"app.kubernetes.io/part-of": "dapr"})
    sidecars = pods({"dapr.io/sidecar-injected": "true"})
    prometheus = app("prometheus")
    dns = flows([pods({"k8s-app": "kube-dns"}, "kube-system")], [udp(53), tcp(53)])
    api = flows([ANY], API_SERVER)
    database_cidr, database_port = app_database(env)
    optional = {
        "backup-postgres-dump": Expected(
            None, "postgresDump", {"matchLabels": {"app.kubernetes.io/name": "postgres-dump",
                                                   "app.kubernetes.io/component": "backup"}},
            egress=dns | flows([cidr(database_cidr)], [database_port]) | flows([cidr("0.0.0.0/0")], [443])),
        "backup-velero": Expected(
            None, "backup", {"matchLabels": {"app.kubernetes.io/name": "velero"}},
            ingress=flows([prometheus], [8085]),
            egress=dns | api | flows([cidr("0.0.0.0/0")], [443])),
    }
    kafka_ui = pods({"app.kubernetes.io/name": "kafka-ui", "app.kubernetes.io/instance": envs.get(env).release})
    optional["eventing-kafka-ui"] = Expected(
        None, "kafkaUi", {"matchLabels": dict(kafka_ui[2])}, egress=dns | flows([kafka], listeners))
    ui_on = platform_values(env)["kafkaUi"]["enabled"]
    switched = {"backup-postgres-dump": platform_values(env)["postgresDump"]["enabled"], "eventing-kafka-ui": ui_on,
                "backup-velero": platform_values(env)["backup"]["enabled"]}
    return {name: want for name, want in optional.items() if switched[name]} | {
        "eventing-strimzi-operator": Expected(
            None, "kafka", {"matchLabels": {"name": "strimzi-cluster-operator"}},
            ingress=flows([prometheus], [8080]),
            egress=dns | api | flows([kafka], [9090, 9091, 8443])),
        "eventing-kafka": Expected(
            None, "kafka", {"matchLabels": {"strimzi.io/cluster": cluster}},
            ingress=flows([kafka, operator], [9090, 9091, 8443])
            | flows([kafka, sidecars, *([kafka_ui] if ui_on else [])], listeners)
            | flows([prometheus], [9404, 8080, 8081]),
            egress=dns | flows([kafka], [9090, 9091, *listeners])),
        "eventing-kafka-entity-operator": Expected(
            None, "kafka", {"matchLabels": {"strimzi.io/name": f"{cluster}-entity-operator"}},
            egress=dns | api, policy_types=("Egress",)),
        "eventing-dapr-control-plane": Expected(
            None, "dapr", {"matchLabels": {"app.kubernetes.io/part-of": "dapr"}},
            ingress=flows([dapr], [ANY]) | flows([sidecars], DAPR_CONTROL_PLANE) | flows([ANY], [4000, 19443])
            | flows([prometheus], [9090]),
            egress=dns | api | flows([dapr], [ANY])),
        "observability-prometheus": Expected(
            None, "monitoring", {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
            ingress=flows([app("grafana"), prometheus], [9090, 8080]),
            egress=dns | api | flows([pods()], [ANY]) | flows([ANY], [10250, 9100])
            | flows([pods(None, node)], [12345, 9100]) | flows([pods({"k8s-app": "kube-dns"}, "kube-system")], [9153])),
        "observability-alertmanager": Expected(
            None, "monitoring", {"matchLabels": {"app.kubernetes.io/name": "alertmanager"}},
            ingress=flows([prometheus, app("grafana")], [9093, 8080]) | flows([app("alertmanager")], [9094, udp(9094)]),
            egress=dns | flows([app("alertmanager")], [9094, udp(9094)]) | flows([cidr("0.0.0.0/0")], [443])),
        "observability-grafana": Expected(
            None, "monitoring", {"matchLabels": {"app.kubernetes.io/name": "grafana"}},
            ingress=flows([ANY], [3000]),
            egress=dns | api | flows([prometheus], [9090]) | flows([app("alertmanager")], [9093])
            | flows([app("loki")], [3100]) | flows([app("jaeger")], [16686])),
        "observability-loki": Expected(
            None, "monitoring", {"matchLabels": {"app.kubernetes.io/name": "loki"}},
            ingress=flows([pods(), app("alloy", node)], [3100]) | flows([app("loki")], [9095, 7946]),
            egress=dns | api | flows([app("loki")], [9095, 7946]) | flows([cidr("0.0.0.0/0")], [443])),
        "observability-jaeger": Expected(
            None, "monitoring", {"matchLabels": {"app.kubernetes.io/name": "jaeger"}},
            ingress=flows([pods()], [4317, 4318]) | flows([app("grafana")], [16686]) | flows([prometheus], [8888]),
            egress=dns),
        "observability-stack-operators": Expected(
            None, "monitoring", {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": [
                "kube-prometheus-stack-prometheus-operator", "kube-state-metrics"]}]},
            ingress=flows([ANY], [10250]) | flows([prometheus], [8080, 8081]),
            egress=dns | api),
        "observability-alloy": Expected(
            node, "monitoring", {"matchLabels": {"app.kubernetes.io/name": "alloy"}},
            ingress=flows([app("prometheus", ns)], [12345]),
            egress=dns | api | flows([app("loki", ns)], [3100])),
        "observability-node-exporter": Expected(
            node, "monitoring", {"matchLabels": {"app.kubernetes.io/name": "prometheus-node-exporter"}},
            ingress=flows([app("prometheus", ns)], [9100])),
    }


POLICIES = sorted({name for env in envs.names() for name in expected(env)})


@pytest.fixture(scope="module", params=envs.names())
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    """(environment, charts/platform as the umbrella installs it there)."""
    return request.param, render_subchart("platform", request.param)


def policies(docs: list[Manifest]) -> dict[str, Manifest]:
    return {p["metadata"]["name"]: p for p in find(docs, "NetworkPolicy")}


def test_platform_renders_exactly_the_policies_of_its_contract(rendered: tuple[str, list[Manifest]]) -> None:
    env, docs = rendered
    assert sorted(policies(docs)) == sorted(expected(env))


@pytest.mark.parametrize("name", POLICIES)
def test_policy_selects_its_pods_and_admits_exactly_its_flows(rendered: tuple[str, list[Manifest]],
                                                               name: str) -> None:
    env, docs = rendered
    want = expected(env).get(name)
    if want is None:
        assert name not in policies(docs), f"{name} renders in {env}, whose values switch its part off"
        return
    policy = get(docs, "NetworkPolicy", name)
    assert policy["metadata"].get("namespace") == want.namespace
    assert policy["metadata"]["labels"]["app.kubernetes.io/component"] == want.part
    assert policy["metadata"]["labels"]["app.kubernetes.io/part-of"] == "todo-chatbot-cloud"
    assert policy["spec"]["podSelector"] == want.pod_selector
    assert tuple(policy["spec"]["policyTypes"]) == want.policy_types
    assert rendered_flows(policy, "ingress") == want.ingress
    assert rendered_flows(policy, "egress") == want.egress


# --- the table's switches -------------------------------------------------------------------------------

def names(overrides: Mapping[str, Any]) -> set[str]:
    return set(policies(render_subchart("platform", "production", overrides)))


@pytest.mark.parametrize(("part", "prefix"), [("kafka", "eventing-kafka"), ("kafka", "eventing-strimzi"),
                                              ("dapr", "eventing-dapr"), ("monitoring", "observability-"),
                                              ("postgresDump", "backup-postgres-dump"), ("backup", "backup-velero")])
def test_a_policy_renders_only_while_its_part_is_on(part: str, prefix: str) -> None:
    left = names({part: {"enabled": False}})
    assert left and not {n for n in left if n.startswith(prefix)}
    contract = expected("production")
    assert {n for n, want in contract.items() if not n.startswith(prefix) and want.part != part} <= left


def test_kafka_ui_gets_its_policy_and_the_kafka_listeners_only_while_it_is_on() -> None:
    kafka_ui = pods({"app.kubernetes.io/name": "kafka-ui", "app.kubernetes.io/instance": "todo-chatbot"})
    for on in (True, False):
        docs = policies(render_subchart("platform", "production", {"kafkaUi": {"enabled": on}}))
        assert ("eventing-kafka-ui" in docs) is on
        admitted = {f for f in rendered_flows(docs["eventing-kafka"], "ingress") if f[0] == kafka_ui}
        assert admitted == (flows([kafka_ui], [9092, 9093]) if on else set())


def test_the_policies_can_be_switched_off_all_at_once() -> None:
    assert names({"networkPolicy": {"enabled": False}}) == set()


def test_one_policy_can_be_switched_off() -> None:
    assert names({"networkPolicy": {"policies": {"observability-jaeger": {"enabled": False}}}}) == (
        set(expected("production")) - {"observability-jaeger"})


def test_a_peer_of_a_part_that_is_off_is_left_out_of_the_rules() -> None:
    docs = render_subchart("platform", "production", {"dapr": {"enabled": False}})
    kafka = get(docs, "NetworkPolicy", "eventing-kafka")
    sidecars = pods({"dapr.io/sidecar-injected": "true"})
    assert not {f for f in rendered_flows(kafka, "ingress") if f[0] == sidecars}
    assert flows([pods({"strimzi.io/cluster": "todo-chatbot-kafka"})], [9092, 9093]) <= rendered_flows(kafka, "ingress")


def test_a_rule_whose_peers_are_all_left_out_is_dropped_not_opened() -> None:
    docs = render_subchart("platform", "production", {"dapr": {"enabled": False}, "networkPolicy": {"policies": {
        "observability-jaeger": {"ingress": [{"from": ["dapr-sidecars"], "ports": [4317]}]}}}})
    jaeger = get(docs, "NetworkPolicy", "observability-jaeger")
    assert "ingress" not in jaeger["spec"] and jaeger["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_a_policy_added_in_values_renders_over_the_defaults() -> None:
    docs = render_subchart("platform", "production", {"networkPolicy": {"policies": {"observability-extra": {
        "part": "monitoring", "podSelector": {"matchLabels": {"app": "extra"}},
        "ingress": [{"from": ["grafana"], "ports": [{"port": 5353, "protocol": "UDP"}]}]}}}})
    extra = get(docs, "NetworkPolicy", "observability-extra")
    assert extra["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert rendered_flows(extra, "ingress") == flows([app("grafana")], [udp(5353)])
    assert rendered_flows(extra, "egress") == flows([pods({"k8s-app": "kube-dns"}, "kube-system")], [udp(53), tcp(53)])


def test_kafka_listener_ports_and_names_follow_the_kafka_values_and_the_release() -> None:
    values = subchart_values("platform", "staging")
    values["kafka"] = {**values.get("kafka", {}), "name": "events",
                       "listeners": {"plain": None,
                                     "tls": {"port": 9093, "tls": True, "authentication": "scram-sha-512"},
                                     "mtls": {"port": 9094, "tls": True, "authentication": "tls"}},
                       "clientListener": "tls"}
    values["monitoring"] = {"kafkaCluster": "events"}
    docs = policies(render_chart(CHARTS / "platform", (), values, release="r", namespace="apps"))
    events = pods({"strimzi.io/cluster": "events"})
    kafka = docs["eventing-kafka"]
    assert kafka["spec"]["podSelector"] == {"matchLabels": {"strimzi.io/cluster": "events"}}
    assert flows([events], [9090, 9091, 9093, 9094]) == rendered_flows(kafka, "egress") - flows(
        [pods({"k8s-app": "kube-dns"}, "kube-system")], [udp(53), tcp(53)])
    assert docs["eventing-kafka-entity-operator"]["spec"]["podSelector"] == {
        "matchLabels": {"strimzi.io/name": "events-entity-operator"}}
    alloy = docs["observability-alloy"]
    assert alloy["metadata"]["namespace"] == "apps-node"
    assert flows([app("loki", "apps")], [3100]) <= rendered_flows(alloy, "egress")
    assert flows([app("alloy", "apps-node")], [3100]) <= rendered_flows(docs["observability-loki"], "ingress")


def test_the_database_peer_and_port_follow_network_policy_database() -> None:
    docs = render_subchart("platform", "production", {"networkPolicy": {"database": {"cidr": "10.99.0.0/24",
                                                                                      "port": 6432}}})
    egress = rendered_flows(get(docs, "NetworkPolicy", "backup-postgres-dump"), "egress")
    assert flows([cidr("10.99.0.0/24")], [6432]) <= egress
    assert not {f for f in egress if f[0] == cidr("10.10.0.0/16")}


@pytest.mark.parametrize("env", envs.names())
def test_the_platform_sees_the_database_where_the_app_chart_does(env: str) -> None:
    database = platform_values(env)["networkPolicy"]["database"]
    assert (database["cidr"], database["port"]) == app_database(env)


def test_api_server_ports_are_set_once_for_every_policy_that_needs_them() -> None:
    docs = render_subchart("platform", "production", {"networkPolicy": {"apiServerPorts": [8443]}})
    for name, want in expected("production").items():
        egress = rendered_flows(get(docs, "NetworkPolicy", name), "egress")
        needs_api = flows([ANY], API_SERVER) <= want.egress
        assert egress == (want.egress - flows([ANY], API_SERVER)) | (flows([ANY], [8443]) if needs_api else set()), name


# --- guards --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "message"), [
    ({"policies": {"observability-grafana": {"egress": [{"to": ["tempo"], "ports": [3200]}]}}},
     r'networkPolicy.policies.observability-grafana.egress\[0\].to: unknown peer "tempo"'),
    ({"policies": {"observability-grafana": {"podSelector": "grafna"}}},
     r'networkPolicy.policies.observability-grafana.podSelector: unknown peer "grafna"'),
    ({"policies": {"observability-grafana": {"podSelector": "node-namespace-alloy"}}},
     r'networkPolicy.policies.observability-grafana.podSelector: peer "node-namespace-alloy" is not a podSelector'),
    ({"dnsPeer": "coredns"}, r'networkPolicy.dnsPeer: unknown peer "coredns"'),
    ({"policies": {"observability-grafana": {"ingress": [{"ports": ["grafana-ui"]}]}}},
     r"networkPolicy/policies/observability-grafana/ingress/0/ports/0"),
    ({"policies": {"observability-grafana": {"part": "grafana"}}},
     r"networkPolicy/policies/observability-grafana/part"),
    ({"policies": {"observability-grafana": {"egres": []}}}, r"networkPolicy/policies/observability-grafana"),
    ({"peers": {"external": {"ipBlock": {"cidr": "everywhere"}}}}, r"networkPolicy/peers/external/ipBlock/cidr"),
])
def test_bad_network_policy_values_fail_naming_the_key(overrides: dict, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_subchart("platform", "production", {"networkPolicy": overrides})
