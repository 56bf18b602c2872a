"""`todo-cloud nodes`: the capacity report's recorded figures (config/prices.yaml) against the objects of a
cluster, as `kubectl get -o json` returns them. The same check against a running control plane is in
tests/cluster/test_live_nodes_on_sim.py."""

from __future__ import annotations

import datetime
import shutil
from typing import Any

import pytest
import yaml

from todo_cloud import cli, yamlfile
from todo_cloud.gates import live_nodes
from todo_cloud.gates.report import system_pods
from todo_cloud.paths import CONFIG

TODAY = datetime.date(2026, 11, 26)


def node(name: str, size: str | None, cpu: str = "1900m", memory: str = "2560Mi") -> dict[str, Any]:
    labels = {live_nodes.SIZE_LABEL: size} if size else {}
    return {"metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}}}


def pod(name: str, owner_kind: str | None, owner: str, *containers: tuple[str | None, str | None],
        phase: str = "Running", template_hash: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "kube-system", "labels": {}}
    if owner_kind:
        meta["ownerReferences"] = [{"kind": owner_kind, "name": owner, "controller": True}]
    if template_hash:
        meta["labels"]["pod-template-hash"] = template_hash
    spec = [{"name": f"c{i}", "resources": {"requests": {k: v for k, v in (("cpu", cpu), ("memory", mem)) if v}}}
            for i, (cpu, mem) in enumerate(containers)]
    return {"kind": "Pod", "metadata": meta, "spec": {"containers": spec}, "status": {"phase": phase}}


def doks_like() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Three small nodes and the kube-system pods config/prices.yaml records, as a cluster would show them."""
    nodes = [node(f"pool-{i}", "s-2vcpu-4gb") for i in range(3)]
    pods = []
    for i in range(3):
        pods.append(pod(f"cilium-{i}", "DaemonSet", "cilium", ("300m", "300Mi")))
        pods.append(pod(f"do-node-agent-{i}", "DaemonSet", "do-node-agent", ("102m", "80Mi")))
        pods.append(pod(f"csi-do-node-{i}", "DaemonSet", "csi-do-node", (None, None), (None, None)))
        pods.append(pod(f"konnectivity-agent-{i}", "DaemonSet", "konnectivity-agent", (None, None)))
    for suffix in ("x1", "x2"):
        pods.append(pod(f"coredns-5d78c9869d-{suffix}", "ReplicaSet", "coredns-5d78c9869d", ("100m", "70Mi"),
                        template_hash="5d78c9869d"))
    return nodes, pods


def confirmed_prices() -> dict[str, Any]:
    prices = yamlfile.load(CONFIG / "prices.yaml")
    prices["allocatable_check"]["confirmed"] = True
    return prices


def test_the_figures_the_report_records_are_what_a_matching_cluster_shows() -> None:
    seen = live_nodes.observe(*doks_like())
    assert seen.sizes["s-2vcpu-4gb"] == live_nodes.NodeSize("s-2vcpu-4gb", 3, "1900m", "2560Mi")
    assert seen.system["cilium"] == live_nodes.SystemWorkload("cilium", "node", 3, "300m", "300Mi")
    assert seen.system["coredns"] == live_nodes.SystemWorkload("coredns", "cluster", 2, "100m", "70Mi")
    assert seen.system["csi-do-node"] == live_nodes.SystemWorkload("csi-do-node", "node", 3, "0", "0")
    assert live_nodes.compare(seen, confirmed_prices()) == []


def test_unconfirmed_figures_are_a_difference_even_when_they_match() -> None:
    prices = yamlfile.load(CONFIG / "prices.yaml")
    assert not prices["allocatable_check"]["confirmed"]
    assert live_nodes.compare(live_nodes.observe(*doks_like()), prices) == [
        "allocatable_check.confirmed: false recorded; the figures above are what the cluster shows"]


def test_each_contradicted_figure_is_named_by_its_key_with_both_values() -> None:
    nodes, pods = doks_like()
    nodes[1] = node("pool-1", "s-2vcpu-4gb", memory="2400Mi")
    pods = [p for p in pods if not p["metadata"]["name"].startswith("konnectivity")]
    pods.append(pod("cilium-operator-6f8b7d9c44-hn3wq", "ReplicaSet", "cilium-operator-6f8b7d9c44",
                    ("100m", "128Mi"), template_hash="6f8b7d9c44"))
    pods = [pod(p["metadata"]["name"], "DaemonSet", "cilium", ("100m", "128Mi"), ("50m", "64Mi"))
            if p["metadata"]["ownerReferences"][0]["name"] == "cilium" else p for p in pods]
    assert live_nodes.compare(live_nodes.observe(nodes, pods), confirmed_prices()) == [
        "node_sizes.s-2vcpu-4gb.allocatable_memory: 2.5Gi recorded, 2400Mi on the cluster",
        "system_pods.cilium.cpu: 300m recorded, 150m on the cluster",
        "system_pods.cilium.memory: 300Mi recorded, 192Mi on the cluster",
        "system_pods.cilium-operator: not recorded; the cluster runs it per cluster (1 pod(s)) requesting "
        "100m / 128Mi each",
        "system_pods.konnectivity-agent: recorded, but the cluster runs no such workload in kube-system",
    ]


def test_the_largest_request_of_a_workload_counts_and_finished_or_foreign_pods_do_not() -> None:
    nodes, pods = doks_like()
    pods[0] = pod("cilium-0", "DaemonSet", "cilium", ("300m", "400Mi"))
    pods.append(pod("job-done", "Job", "cleanup", ("1", "1Gi"), phase="Succeeded"))
    elsewhere = pod("app-1", "ReplicaSet", "app-1", ("1", "1Gi"))
    elsewhere["metadata"]["namespace"] = "todo-chatbot"
    seen = live_nodes.observe(nodes, [*pods, elsewhere])
    assert seen.system["cilium"].memory == "400Mi"
    assert "cleanup" not in seen.system and "app-1" not in seen.system


def test_a_static_pod_counts_per_node_under_its_own_name() -> None:
    seen = live_nodes.observe([node("pool-0", "s-2vcpu-4gb")],
                              [pod("kube-proxy-pool-0", "Node", "pool-0", ("100m", None))])
    assert seen.system == {"kube-proxy": live_nodes.SystemWorkload("kube-proxy", "node", 1, "100m", "0")}


def test_a_node_without_a_size_label_is_refused_by_name() -> None:
    with pytest.raises(live_nodes.LiveNodesError, match=r"node 'worker-7' has no node.kubernetes.io/instance-type"):
        live_nodes.observe([node("pool-0", "s-2vcpu-4gb"), node("worker-7", None)], [])


def test_an_allocatable_that_is_no_quantity_is_refused_naming_the_node() -> None:
    with pytest.raises(live_nodes.LiveNodesError, match=r"node 'pool-1': allocatable memory 'lots' is not a"):
        live_nodes.observe([node("pool-0", "s-2vcpu-4gb"), node("pool-1", "s-2vcpu-4gb", memory="lots")], [])


def test_a_node_size_missing_from_the_price_table_is_named() -> None:
    seen = live_nodes.observe([node("big-0", "s-8vcpu-16gb", "7900m", "13Gi")], [])
    assert live_nodes.compare(seen, confirmed_prices())[0] == (
        "node_sizes.s-8vcpu-16gb: not recorded; the cluster has 1 such node(s) offering 7900m CPU / 13Gi")


def test_writing_records_the_cluster_keeps_the_comments_and_the_report_reads_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "prices.yaml"
    shutil.copy(CONFIG / "prices.yaml", target)
    nodes, pods = doks_like()
    nodes = [node(n["metadata"]["name"], "s-2vcpu-4gb", "1930m", "2621440Ki") for n in nodes]
    pods.append(pod("cilium-operator-1", "ReplicaSet", "cilium-operator-abc", ("100m", "128Mi"), template_hash="abc"))
    seen = live_nodes.observe(nodes, pods)
    live_nodes.write(target, seen, "do-nyc3-todo-chatbot-production", TODAY)

    text = target.read_text()
    assert "# DigitalOcean list prices (USD per month)" in text and "# High-availability control plane" in text
    written = yaml.safe_load(text)
    assert written["node_sizes"]["s-2vcpu-4gb"] == {"monthly": 24, "allocatable_cpu": "1930m",
                                                    "allocatable_memory": "2621440Ki"}
    assert written["node_sizes"]["s-4vcpu-8gb"]["allocatable_memory"] == "6Gi"
    assert written["allocatable_check"]["confirmed"] is True
    assert written["allocatable_check"]["date"] == TODAY
    assert "do-nyc3-todo-chatbot-production" in written["allocatable_check"]["source"]
    assert written["system_pods"]["cilium-operator"] == {
        "per": "cluster", "replicas": 1, "cpu": "100m", "memory": "128Mi",
        "source": "kubectl on context do-nyc3-todo-chatbot-production, 2026-11-26"}
    assert live_nodes.compare(seen, written) == []
    rows = {label: (pods_, usage.memory_requests) for label, pods_, usage in system_pods(3, written)}
    assert rows["cilium-operator (DOKS, per cluster)"] == (1, 128 * 1024**2)


@pytest.mark.parametrize(("size", "memory", "refusal"), [
    ("s-8vcpu-16gb", "13Gi", r"node_sizes has no s-8vcpu-16gb.*monthly price first"),
    ("s-2vcpu-4gb", "2.5G", r"would break its schema.*allocatable_memory"),
], ids=["a size the price table lacks", "a figure the schema refuses"])
def test_a_write_that_cannot_be_made_changes_nothing(tmp_path, size: str, memory: str,  # type: ignore[no-untyped-def]
                                                     refusal: str) -> None:
    target = tmp_path / "prices.yaml"
    shutil.copy(CONFIG / "prices.yaml", target)
    before = target.read_text()
    seen = live_nodes.observe([node("pool-0", size, "1900m", memory)], [])
    with pytest.raises(live_nodes.LiveNodesError, match=refusal):
        live_nodes.write(target, seen, "ctx", TODAY)
    assert target.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prices.yaml"]


def test_a_cluster_that_cannot_be_read_is_exit_2_naming_the_context(
        tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "other",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "other", "context": {"cluster": "c", "user": "u"}}]}))
    assert cli.main(["nodes", "--env", "production", "--kubeconfig", str(kubeconfig)]) == 2
    assert "kubectl get nodes on context do-nyc3-todo-chatbot-production" in capsys.readouterr().err


def test_local_is_refused_because_kind_capacity_has_its_own_file(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["nodes", "--env", "local"]) == 2
    assert "config/kind-capacity.yaml" in capsys.readouterr().err
