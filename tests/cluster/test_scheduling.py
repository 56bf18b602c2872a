"""The real scheduler places every pod of the release on fake nodes shaped like the environment's pool, and
the topology spread constraints and pod anti-affinity of the release hold on the result."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.cluster.support import Deployment
from todo_cloud.cluster_shape import node_pool
from todo_cloud.manifests import quantity


@pytest.fixture(scope="module")
def pods(deployment: Deployment) -> list[dict[str, Any]]:
    """Every pod in the environment's namespaces, as the cluster has them after the deploy."""
    found: list[dict[str, Any]] = []
    for ns in deployment.env.namespaces:
        found += deployment.kubectl_json("get", "pods", "-n", ns)["items"]
    return [p for p in found if p["status"].get("phase") not in ("Succeeded", "Failed")]


@pytest.fixture(scope="module")
def nodes(deployment: Deployment) -> dict[str, dict[str, str]]:
    """Node name -> labels of the fake nodes."""
    return {n["metadata"]["name"]: n["metadata"]["labels"]
            for n in deployment.kubectl_json("get", "nodes")["items"]}


def _pending(pods: list[dict[str, Any]]) -> list[str]:
    out = []
    for p in pods:
        if p["spec"].get("nodeName"):
            continue
        why = next((c.get("message", "") for c in p["status"].get("conditions", []) if c["type"] == "PodScheduled"), "")
        out.append(f"{p['metadata']['namespace']}/{p['metadata']['name']}: {why or 'not scheduled'}")
    return out


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        value, op = labels.get(expr["key"]), expr["operator"]
        if (op == "In" and value not in expr["values"]) or (op == "NotIn" and value in expr.get("values", [])) \
                or (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def test_the_node_pool_is_shaped_like_the_environment(deployment: Deployment,
                                                      nodes: dict[str, dict[str, str]]) -> None:
    pool = node_pool(deployment.env.name)
    assert len(nodes) == pool.count
    node = deployment.kubectl_json("get", "node", f"{pool.prefix}-0")
    assert quantity(node["status"]["allocatable"]["cpu"]) == quantity(pool.cpu)
    assert quantity(node["status"]["allocatable"]["memory"]) == quantity(pool.memory)
    zones = {labels.get("topology.kubernetes.io/zone") for labels in nodes.values()}
    assert zones == ({"zone-a", "zone-b", "zone-c"} if deployment.env.name == "local" else {None})


def test_every_pod_of_the_release_is_scheduled(deployment: Deployment, pods: list[dict[str, Any]]) -> None:
    assert pods, "no pods in the release's namespaces"
    pending = _pending(pods)
    assert not pending, (f"{deployment.env.name}: pods left pending on {node_pool(deployment.env.name).count} "
                         f"fake nodes: {pending}")


def test_hard_topology_spread_constraints_hold(pods: list[dict[str, Any]], nodes: dict[str, dict[str, str]]) -> None:
    """For every DoNotSchedule constraint: the skew between the domains of the eligible nodes is within
    maxSkew for the pods it selects."""
    broken = []
    for p in pods:
        for c in p["spec"].get("topologySpreadConstraints") or []:
            if c.get("whenUnsatisfiable") != "DoNotSchedule":
                continue
            key = c["topologyKey"]
            domains = {labels[key] for labels in nodes.values() if key in labels}
            counts = Counter({d: 0 for d in domains})
            for q in pods:
                if q["metadata"]["namespace"] == p["metadata"]["namespace"] and q["spec"].get("nodeName") \
                        and _matches(c.get("labelSelector"), q["metadata"].get("labels") or {}):
                    counts[nodes[q["spec"]["nodeName"]].get(key)] += 1
            if counts and max(counts.values()) - min(counts.values()) > c["maxSkew"]:
                broken.append(f"{p['metadata']['name']}: {key} skew {dict(counts)} > {c['maxSkew']}")
    assert not broken, broken


def test_required_pod_anti_affinity_holds(pods: list[dict[str, Any]], nodes: dict[str, dict[str, str]]) -> None:
    """No two pods share a topology domain that a required anti-affinity term of one of them forbids."""
    broken = []
    for p in pods:
        terms = (((p["spec"].get("affinity") or {}).get("podAntiAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        for term in terms:
            key = term["topologyKey"]
            here = nodes.get(p["spec"].get("nodeName") or "", {}).get(key)
            for q in pods:
                if q is p or not q["spec"].get("nodeName") or here is None:
                    continue
                if nodes[q["spec"]["nodeName"]].get(key) == here and _matches(term.get("labelSelector"),
                                                                               q["metadata"].get("labels") or {}):
                    broken.append(f"{p['metadata']['name']} and {q['metadata']['name']} share {key}={here}")
    assert not broken, broken


def test_replicas_of_spread_workloads_land_on_distinct_nodes_where_possible(
        deployment: Deployment, pods: list[dict[str, Any]], nodes: dict[str, dict[str, str]]) -> None:
    """Our app's replicas (the app chart's Deployments) are spread over as many nodes as they can be."""
    owners: dict[str, list[str]] = {}
    for p in pods:
        labels = p["metadata"].get("labels") or {}
        if labels.get("app.kubernetes.io/instance") == deployment.env.release and \
                labels.get("app.kubernetes.io/component") in ("backend", "frontend") and p["spec"].get("nodeName"):
            owners.setdefault(labels["app.kubernetes.io/component"], []).append(p["spec"]["nodeName"])
    crowded = {c: hosts for c, hosts in owners.items() if len(set(hosts)) < min(len(hosts), len(nodes))}
    assert not crowded, f"replicas sharing a node although another was free: {crowded}"
