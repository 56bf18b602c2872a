"""What the simulated cluster is made of, decided without starting it: node pools, namespaces, ports."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from todo_cloud import envs
from todo_cloud.cluster_shape import node_pool, tfvars
from todo_cloud.paths import REPO
from todo_cloud.run import run
from todo_cloud.sim import cluster as sim
from todo_cloud.sim import lifecycle, objects


def test_the_local_pool_is_the_three_kind_workers_one_zone_each() -> None:
    nodes = objects.fake_nodes(node_pool("local"))
    assert [n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes] == ["zone-a", "zone-b", "zone-c"]
    assert {n["status"]["allocatable"]["cpu"] for n in nodes} == {"2"}
    assert {n["status"]["allocatable"]["memory"] for n in nodes} == {"4Gi"}


@pytest.mark.parametrize("env", ["staging", "production"])
def test_a_doks_pool_has_the_minimum_node_count_of_its_size_without_zones(env: str) -> None:
    nodes = objects.fake_nodes(node_pool(env))
    assert len(nodes) == int(tfvars(env)["node_min_count"])
    assert all(n["status"]["allocatable"] == {"cpu": "1900m", "memory": "2.5Gi", "pods": "110"} for n in nodes)
    assert all("topology.kubernetes.io/zone" not in n["metadata"]["labels"] for n in nodes)
    assert all(n["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "s-2vcpu-4gb" for n in nodes)
    assert all(n["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake" for n in nodes)


@pytest.mark.parametrize("env", ["local", "staging", "production"])
def test_the_release_namespace_enforces_restricted(env: str) -> None:
    assert envs.get(env).namespaces["todo-chatbot"] == "restricted"


def test_a_fixed_port_in_use_is_refused_by_name() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(sim.PortInUse, match=rf"port {port} on 127.0.0.1 \(for etcd\) is already in use"):
            sim.free_ports({"etcd": port})


def test_an_unknown_component_port_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown components"):
        sim.free_ports({"kubelet": 10250})


def test_free_ports_are_distinct() -> None:
    ports = sim.free_ports()
    assert set(ports) == set(sim.COMPONENTS) and len(set(ports.values())) == len(ports)


@pytest.mark.parametrize("env", ["local", "staging", "production"])
def test_each_namespace_enforces_its_pod_security_level_in_every_mode(env: str) -> None:
    levels = envs.get(env).namespaces
    objs = {o["metadata"]["name"]: o["metadata"]["labels"] for o in envs.namespace_objects(envs.get(env))}
    assert objs.keys() == levels.keys()
    for name, labels in objs.items():
        assert [labels[f"pod-security.kubernetes.io/{mode}"] for mode in ("enforce", "audit", "warn")] == \
            [levels[name]] * 3, name


def test_the_smoke_command_refuses_a_missing_kubeconfig(tmp_path: Path) -> None:
    got = run([REPO / ".venv" / "bin" / "todo-cloud", "smoke", "--env", "local", "--kubeconfig",
               tmp_path / "absent"], check=False)
    assert got.returncode == 2 and "no such file" in got.stderr


def test_sim_down_without_a_cluster_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(lifecycle, "STATE", tmp_path / "state.json")
    assert lifecycle.down() == 0
    assert "no simulated cluster is up" in capsys.readouterr().err
