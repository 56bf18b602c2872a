"""NetworkPolicies of the app namespace: default deny, then exactly the flows the app needs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.app.support import name, render_app
from todo_cloud import cluster_shape, envs
from todo_cloud.render import Manifest, find, get

DAPR_CONTROL_PLANE_PORTS = {50001, 6500, 50005, 50006}


def ports(rule: dict[str, Any]) -> set[Any]:
    return {p["port"] for p in rule.get("ports", [])}


def egress_to(policy: Manifest, label: str, value: str) -> list[dict]:
    return [r for r in policy["spec"]["egress"] for peer in r.get("to", [])
            if peer.get("podSelector", {}).get("matchLabels", {}).get(label) == value]


def ingress_from(policy: Manifest, label: str, value: str) -> list[dict]:
    return [r for r in policy["spec"]["ingress"] for peer in r.get("from", [])
            if peer.get("podSelector", {}).get("matchLabels", {}).get(label) == value]


def test_namespace_denies_everything_by_default(app: list[Manifest]) -> None:
    deny = get(app, "NetworkPolicy", "todo-chatbot-default-deny")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_default_deny_can_be_switched_off_keeping_the_app_policies() -> None:
    docs = render_app("local", {"networkPolicy": {"defaultDeny": False}})
    assert not find(docs, "NetworkPolicy", "todo-chatbot-default-deny")
    assert find(docs, "NetworkPolicy", name("backend"))


def test_every_app_pod_is_selected_by_its_own_policy(app: list[Manifest]) -> None:
    for deployment in find(app, "Deployment"):
        policy = get(app, "NetworkPolicy", deployment["metadata"]["name"])
        assert policy["spec"]["podSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_gateway_reaches_the_frontend_http_port(app: list[Manifest], env_name: str) -> None:
    rules = get(app, "NetworkPolicy", name("frontend"))["spec"]["ingress"]
    public = rules[0]
    assert ports(public) == {"http"}
    if env_name == "local":
        assert public["from"] == [{"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "envoy-gateway-system"}}}]
    else:
        # DOKS's Cilium gateway proxies from the node (reserved ingress identity): no peer can name it
        assert "from" not in public


def test_backend_admits_the_frontend_but_is_not_public(app: list[Manifest]) -> None:
    policy = get(app, "NetworkPolicy", name("backend"))
    assert all(rule.get("from") for rule in policy["spec"]["ingress"])
    assert ports(ingress_from(policy, "app.kubernetes.io/name", "frontend")[0]) == {"http"}


def test_frontend_may_call_only_the_backend_among_the_components(app: list[Manifest]) -> None:
    policy = get(app, "NetworkPolicy", name("frontend"))
    assert ports(egress_to(policy, "app.kubernetes.io/name", "backend")[0]) == {8000}
    assert not egress_to(policy, "strimzi.io/cluster", "todo-chatbot-kafka")
    assert not [r for r in policy["spec"]["egress"] for peer in r["to"] if "ipBlock" in peer]


@pytest.mark.parametrize("component", ["frontend", "backend"])
def test_sidecars_reach_each_other_the_dapr_control_plane_and_the_collector(
    app: list[Manifest], component: str
) -> None:
    policy = get(app, "NetworkPolicy", name(component))
    assert ports(egress_to(policy, "app.kubernetes.io/part-of", "dapr")[0]) == DAPR_CONTROL_PLANE_PORTS
    assert ports(egress_to(policy, "app.kubernetes.io/part-of", "todo-chatbot")[0]) == {50002}
    assert ports(ingress_from(policy, "app.kubernetes.io/part-of", "todo-chatbot")[0]) == {50002}
    assert ports(egress_to(policy, "app.kubernetes.io/name", "jaeger")[0]) == {4317, 4318}


@pytest.mark.parametrize("component", ["frontend", "backend"])
def test_every_app_pod_resolves_names_through_cluster_dns(app: list[Manifest], component: str) -> None:
    dns = get(app, "NetworkPolicy", name(component))["spec"]["egress"][0]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}


def test_backend_reaches_kafka(app: list[Manifest]) -> None:
    policy = get(app, "NetworkPolicy", name("backend"))
    assert ports(egress_to(policy, "strimzi.io/cluster", "todo-chatbot-kafka")[0]) == {9092, 9093}


def test_backend_reaches_postgresql_where_the_environment_facts_put_it(app: list[Manifest], env_name: str) -> None:
    # config/environments.yaml owns the address (DOKS: the VPC Terraform creates, where the managed database
    # lives); the rendered policy must be exactly that, whatever the chart's default says
    env = envs.get(env_name)
    if env.digitalocean is not None:
        assert env.database_cidr == env.digitalocean.vpc_cidr
        assert env.database_cidr == cluster_shape.tfvars(env_name)["vpc_ip_range"]
    database = [r for r in get(app, "NetworkPolicy", name("backend"))["spec"]["egress"]
                for peer in r["to"] if "ipBlock" in peer and peer["ipBlock"]["cidr"] != "0.0.0.0/0"]
    assert database == [{"to": [{"ipBlock": {"cidr": env.database_cidr}}],
                         "ports": [{"protocol": "TCP", "port": env.database_port}]}]


def test_prometheus_scrapes_the_app_and_sidecar_metrics(app: list[Manifest]) -> None:
    policy = get(app, "NetworkPolicy", name("backend"))
    assert ports(ingress_from(policy, "app.kubernetes.io/name", "prometheus")[0]) == {"http", 9090}


def test_consumers_reach_kafka_but_take_no_calls(all_components: list[Manifest]) -> None:
    policy = get(all_components, "NetworkPolicy", name("notification"))
    assert egress_to(policy, "strimzi.io/cluster", "todo-chatbot-kafka")
    assert not ingress_from(policy, "app.kubernetes.io/name", "frontend")


def test_test_pods_have_their_own_policies(app: list[Manifest]) -> None:
    health = get(app, "NetworkPolicy", "todo-chatbot-test-health")
    assert ports(egress_to(health, "app.kubernetes.io/name", "backend")[0]) == {8000}
    assert ports(egress_to(health, "app.kubernetes.io/name", "frontend")[0]) == {3000}
    dapr = get(app, "NetworkPolicy", "todo-chatbot-test-dapr")
    assert ports(egress_to(dapr, "app.kubernetes.io/part-of", "todo-chatbot")[0]) == {50002}
    backend = get(app, "NetworkPolicy", name("backend"))
    assert ingress_from(backend, "app.kubernetes.io/name", "todo-chatbot-test-health")


def test_acme_solver_is_reachable_while_certificates_are_issued() -> None:
    policy = get(render_app("staging"), "NetworkPolicy", "todo-chatbot-acme-http01-solver")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"acme.cert-manager.io/http01-solver": "true"}
    assert ports(policy["spec"]["ingress"][0]) == {8089}


def test_policies_can_be_switched_off_entirely() -> None:
    assert not find(render_app("local", {"networkPolicy": {"enabled": False}}), "NetworkPolicy")


def ip_egress(policy: Manifest) -> list[tuple[str, tuple[str, ...], set[Any]]]:
    """(cidr, except, ports) of every egress rule to an ipBlock."""
    return [(peer["ipBlock"]["cidr"], tuple(peer["ipBlock"].get("except", [])), ports(rule))
            for rule in policy["spec"]["egress"] for peer in rule["to"] if "ipBlock" in peer]


def test_only_the_backend_reaches_the_internet_and_no_component_the_api_server(app: list[Manifest]) -> None:
    backend = ip_egress(get(app, "NetworkPolicy", name("backend")))
    # the model provider's API: HTTPS to the internet, private ranges excluded
    assert ("0.0.0.0/0", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), {443}) in backend
    # the Kubernetes API only with an API token, which no component mounts by default
    assert not [rule for rule in backend if rule[2] & {6443}]
    assert not ip_egress(get(app, "NetworkPolicy", name("frontend")))


def test_a_component_with_an_api_token_reaches_the_api_server() -> None:
    docs = render_app("production", {"components": {"backend": {"serviceAccount": {"automountToken": True}}}})
    # the Kubernetes API (e.g. an opted-in Dapr secret store), wherever DOKS puts it
    assert ("0.0.0.0/0", (), {443, 6443}) in ip_egress(get(docs, "NetworkPolicy", name("backend")))
