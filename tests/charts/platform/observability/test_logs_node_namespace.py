"""Pod Security of the release: the release namespace enforces "restricted", so no pod rendered into it may
use the host (host namespaces, hostPath, host ports, privileged containers); the node-level agents that must
(node-exporter, Alloy) run in <namespace>-node, "privileged". config/environments.yaml lists both namespaces
with their level for the deploy, which creates them."""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_cloud import envs
from todo_cloud.gates import data
from todo_cloud.manifests import object_id, pod_spec
from todo_cloud.paths import CONFIG
from todo_cloud.render import Manifest, get

HOST_FIELDS = ("hostNetwork", "hostPID", "hostIPC")
BUILT_IN_NAMESPACES = {"default", "kube-system"}


def namespaces(env_name: str) -> dict[str, str]:
    """The namespaces the deploy creates for an environment, with their Pod Security level."""
    return envs.get(env_name).namespaces


def host_access(spec: dict) -> list[str]:
    """What a pod spec takes from the host, in words (empty: nothing)."""
    found = [f for f in HOST_FIELDS if spec.get(f)]
    found += [f"hostPath volume {v['name']}" for v in spec.get("volumes") or [] if "hostPath" in v]
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if (c.get("securityContext") or {}).get("privileged"):
            found.append(f"privileged container {c['name']}")
        found += [f"hostPort {p['hostPort']} of {c['name']}" for p in c.get("ports") or [] if p.get("hostPort")]
    return found


@pytest.fixture(scope="module")
def pods(release: list[Manifest], env_name: str) -> list[tuple[str, str, list[str]]]:
    """(object id, namespace, host access) of every pod template of the release."""
    ns = envs.get(env_name).namespace
    return [(object_id(d), d["metadata"].get("namespace") or ns, host_access(spec))
            for d in release if (spec := pod_spec(d)) is not None]


def test_the_release_namespace_is_restricted_and_the_node_namespace_privileged(env_name: str) -> None:
    ns = envs.get(env_name).namespace
    assert namespaces(env_name) == {ns: "restricted", f"{ns}-node": "privileged"}


def test_no_pod_of_the_restricted_namespace_uses_the_host(pods: list[tuple[str, str, list[str]]],
                                                          env_name: str) -> None:
    ns = envs.get(env_name).namespace
    offenders = {who: access for who, where, access in pods if where == ns and access}
    assert offenders == {}
    assert sum(1 for _, where, _ in pods if where == ns) > 10  # the whole umbrella was looked at


def test_pods_using_the_host_run_in_a_privileged_namespace(pods: list[tuple[str, str, list[str]]],
                                                           env_name: str) -> None:
    levels = namespaces(env_name)
    users = {who: where for who, where, access in pods if access}
    assert users and all(levels.get(where) == "privileged" for where in users.values()), users


def test_every_pod_runs_in_a_namespace_the_deploy_creates(pods: list[tuple[str, str, list[str]]],
                                                           env_name: str) -> None:
    assert {where for _, where, _ in pods} == set(namespaces(env_name))


def test_other_objects_go_only_to_namespaces_every_cluster_has(release: list[Manifest], env_name: str) -> None:
    """Dapr's secret-reader Role (default) and the stack's CoreDNS metrics Service (kube-system) are the only
    objects outside the created namespaces."""
    used = {d["metadata"]["namespace"] for d in release if d.get("metadata", {}).get("namespace")}
    assert used - set(namespaces(env_name)) <= BUILT_IN_NAMESPACES


@pytest.mark.parametrize("kind", ["DaemonSet", "Service", "ServiceAccount", "ServiceMonitor"])
def test_node_exporter_runs_in_the_node_namespace(release: list[Manifest], env_name: str, kind: str) -> None:
    obj = get(release, kind, "todo-chatbot-prometheus-node-exporter")
    assert obj["metadata"]["namespace"] == f"{envs.get(env_name).namespace}-node"


def test_node_exporter_needs_the_host_it_was_moved_for(release: list[Manifest]) -> None:
    spec = pod_spec(get(release, "DaemonSet", "todo-chatbot-prometheus-node-exporter"))
    assert {"hostNetwork", "hostPID"} <= set(host_access(spec))


@pytest.mark.parametrize(("namespaces_yaml", "key"), [
    ("    namespaces:\n      todo-chatbot: strict\n", "environments.local.namespaces.todo-chatbot"),
    ("    namespaces:\n      Todo_Chatbot: restricted\n", "environments.local.namespaces"),
    ("", "environments.local.namespaces"),
])
def test_an_unknown_level_or_a_bad_namespace_name_is_refused_by_name(tmp_path: Path, namespaces_yaml: str,
                                                                     key: str) -> None:
    bad = tmp_path / "environments.yaml"
    bad.write_text("environments:\n  local:\n    description: x\n    release: r\n    namespace: n\n"
                   "    kubeContext: c\n" + namespaces_yaml)
    findings = data.yamale_findings(bad, CONFIG / "schemas" / "environments.yamale")
    assert any(f.message.startswith(f"{key}") for f in findings), [str(f) for f in findings]
