"""`todo-cloud nodes` against a running control plane: the production-shaped simulated cluster with DOKS's
kube-system workloads (DaemonSets and a Deployment, requests as config/prices.yaml records them) applied, so
the nodes and pods it reads are what the API server and the controllers make of them."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from todo_cloud import cli, yamlfile
from todo_cloud.paths import CONFIG
from todo_cloud.sim import cluster as sim

PAUSE = "registry.k8s.io/pause:3.10"


def workload(kind: str, name: str, cpu: str | None, memory: str | None, replicas: int = 1) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"k8s-app": name}},
        "template": {"metadata": {"labels": {"k8s-app": name}},
                     "spec": {"containers": [{"name": name, "image": PAUSE, "resources": {"requests": requests}}]}}}
    if kind == "Deployment":
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": "kube-system"},
            "spec": spec}


def running_pods(cluster: sim.Cluster) -> int:
    got = cluster.kubectl("get", "pods", "-n", "kube-system", "--field-selector=status.phase=Running", "-o", "name")
    return len(got.stdout.split())


def wait_for_pods(cluster: sim.Cluster, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while running_pods(cluster) < count:
        assert time.monotonic() < deadline, f"kube-system has {running_pods(cluster)} of {count} pods running"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def doks_sim(sim_binaries: Path) -> Iterator[sim.Cluster]:
    """Production's node pool with the kube-system workloads config/prices.yaml records, all pods running."""
    with sim.running("production", binaries=sim_binaries) as cluster:
        cluster.apply([workload("DaemonSet", "cilium", "300m", "300Mi"),
                       workload("DaemonSet", "do-node-agent", "102m", "80Mi"),
                       workload("DaemonSet", "csi-do-node", None, None),
                       workload("DaemonSet", "konnectivity-agent", None, None),
                       workload("Deployment", "coredns", "100m", "70Mi", replicas=2)])
        wait_for_pods(cluster, 4 * 3 + 2)
        yield cluster


def nodes_command(cluster: sim.Cluster, prices: Path, *extra: str) -> int:
    return cli.main(["nodes", "--env", "production", "--kubeconfig", str(cluster.kubeconfig),
                     "--prices", str(prices), *extra])


def test_the_recorded_figures_match_the_cluster_and_only_their_confirmation_is_missing(
        doks_sim: sim.Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "prices.yaml"
    shutil.copy(CONFIG / "prices.yaml", prices)
    assert nodes_command(doks_sim, prices) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["allocatable_check.confirmed: false recorded; the figures above are what the "
                                "cluster shows"]
    assert "run `todo-cloud nodes --env production --write`" in err
    assert prices.read_text() == (CONFIG / "prices.yaml").read_text()


def test_write_records_the_cluster_and_the_next_check_passes(
        doks_sim: sim.Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "prices.yaml"
    shutil.copy(CONFIG / "prices.yaml", prices)
    assert nodes_command(doks_sim, prices, "--write") == 0
    written = yamlfile.load(prices)
    assert written["allocatable_check"]["confirmed"] is True
    assert doks_sim.context in written["allocatable_check"]["source"]
    assert written["node_sizes"]["s-2vcpu-4gb"]["allocatable_memory"] == "2560Mi"
    assert {k: (v["per"], v.get("replicas"), v["cpu"], v["memory"]) for k, v in written["system_pods"].items()} == {
        "cilium": ("node", None, "300m", "300Mi"), "do-node-agent": ("node", None, "102m", "80Mi"),
        "csi-do-node": ("node", None, "0", "0"), "konnectivity-agent": ("node", None, "0", "0"),
        "coredns": ("cluster", 2, "100m", "70Mi")}
    capsys.readouterr()
    assert nodes_command(doks_sim, prices) == 0
    assert "match" in capsys.readouterr().out


def test_a_workload_the_table_lacks_is_named_and_nothing_is_written(
        doks_sim: sim.Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prices = tmp_path / "prices.yaml"
    confirmed = yamlfile.load(CONFIG / "prices.yaml")
    confirmed["allocatable_check"]["confirmed"] = True
    prices.write_text(yaml.safe_dump(confirmed))
    before = prices.read_text()
    doks_sim.apply([workload("Deployment", "cilium-operator", "100m", "128Mi")])
    try:
        wait_for_pods(doks_sim, 4 * 3 + 2 + 1)
        assert nodes_command(doks_sim, prices) == 1
        assert capsys.readouterr().out.splitlines() == [
            "system_pods.cilium-operator: not recorded; the cluster runs it per cluster (1 pod(s)) requesting "
            "100m / 128Mi each"]
        assert prices.read_text() == before
    finally:
        doks_sim.kubectl("delete", "deployment", "cilium-operator", "-n", "kube-system", "--wait=true")

