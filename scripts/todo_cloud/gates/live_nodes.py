"""What a live cluster says about the figures the capacity report assumes (`todo-cloud nodes --env ENV`).

The report (gates/report.py) takes the allocatable CPU and memory of each node size and the requests of
DOKS's own kube-system pods from config/prices.yaml, where they were recorded by hand and are marked
unconfirmed (`allocatable_check`). `observe` reads them off the environment's cluster (the nodes and the
kube-system pods, as `kubectl get -o json` returns them); `compare` names every figure of the file that
differs; `write` records what the cluster shows: the allocatable of the smallest node of each size, each
kube-system workload's requests per pod, and `allocatable_check` confirmed, dated and sourced. All or
nothing: the new file passes its yamale schema before it replaces the old one, comments kept.
"""

from __future__ import annotations

import datetime
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from todo_cloud import yaml_edit
from todo_cloud.cluster_shape import SIZE_LABEL
from todo_cloud.gates.data import SCHEMAS, yamale_findings
from todo_cloud.gates.report import pod_usage
from todo_cloud.manifests import quantity

SYSTEM_NAMESPACE = "kube-system"
MI = 1024**2


class LiveNodesError(Exception):
    """The cluster's objects cannot be matched with config/prices.yaml; the message names the object."""


@dataclass(frozen=True)
class NodeSize:
    """What the smallest node of one size offers to pods, as the API states it."""

    size: str
    nodes: int
    allocatable_cpu: str
    allocatable_memory: str


@dataclass(frozen=True)
class SystemWorkload:
    """One kube-system workload: per node (a DaemonSet) or per cluster (`replicas` pods), requests per pod."""

    name: str
    per: str
    replicas: int
    cpu: str
    memory: str


@dataclass(frozen=True)
class Observation:
    sizes: dict[str, NodeSize]
    system: dict[str, SystemWorkload]


def cpu_text(cores: float) -> str:
    """Millicores the way the file writes them ("0", "102m")."""
    milli = math.ceil(round(cores * 1000, 6))
    return f"{milli}m" if milli else "0"


def memory_text(nbytes: float) -> str:
    """Mebibytes, rounded up, the way the file writes them ("0", "80Mi")."""
    mebi = math.ceil(round(nbytes / MI, 6))
    return f"{mebi}Mi" if mebi else "0"


def _node_sizes(nodes: Iterable[Mapping[str, Any]]) -> dict[str, NodeSize]:
    by_size: dict[str, list[Mapping[str, Any]]] = {}
    for node in nodes:
        meta = node.get("metadata") or {}
        size = (meta.get("labels") or {}).get(SIZE_LABEL)
        if not size:
            raise LiveNodesError(f"node {meta.get('name')!r} has no {SIZE_LABEL} label: its size is unknown")
        by_size.setdefault(size, []).append(node)
    return {size: NodeSize(size, len(members), _smallest(members, "cpu"), _smallest(members, "memory"))
            for size, members in sorted(by_size.items())}


def _smallest(nodes: list[Mapping[str, Any]], resource: str) -> str:
    """The smallest allocatable `resource` of `nodes`, as the API writes it."""
    values = []
    for n in nodes:
        value = str(((n.get("status") or {}).get("allocatable") or {}).get(resource, "0"))
        try:
            values.append((quantity(value), value))
        except ValueError:
            raise LiveNodesError(f"node {(n.get('metadata') or {}).get('name')!r}: allocatable {resource} {value!r} "
                                 "is not a Kubernetes quantity") from None
    return min(values)[1]


def _owner(pod: Mapping[str, Any]) -> tuple[str, str]:
    """(workload name, per) of a kube-system pod: its DaemonSet (per node), else the Deployment, StatefulSet
    or bare pod it stands for (per cluster)."""
    meta = pod.get("metadata") or {}
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("controller", True)]
    ref = refs[0] if refs else {}
    if ref.get("kind") == "DaemonSet":
        return ref["name"], "node"
    if ref.get("kind") == "ReplicaSet":
        suffix = (meta.get("labels") or {}).get("pod-template-hash")
        name = ref["name"]
        return (name[: -len(suffix) - 1] if suffix and name.endswith(f"-{suffix}") else name), "cluster"
    if ref.get("kind") == "Node":  # a static pod's mirror: one per node, named <pod>-<node>
        node = ref.get("name", "")
        name = meta.get("name", "")
        return (name[: -len(node) - 1] if node and name.endswith(f"-{node}") else name), "node"
    return (ref.get("name") or meta.get("name", "")), "cluster"


def _system_workloads(pods: Iterable[Mapping[str, Any]]) -> dict[str, SystemWorkload]:
    groups: dict[str, tuple[str, list[Mapping[str, Any]]]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("namespace", SYSTEM_NAMESPACE) != SYSTEM_NAMESPACE or meta.get("deletionTimestamp"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        name, per = _owner(pod)
        groups.setdefault(name, (per, []))[1].append(pod)
    system = {}
    for name, (per, members) in sorted(groups.items()):
        usage = [pod_usage(p) for p in members]
        system[name] = SystemWorkload(name, per, len(members), cpu_text(max(u.cpu_requests for u in usage)),
                                      memory_text(max(u.memory_requests for u in usage)))
    return system


def observe(nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]) -> Observation:
    """The node sizes and kube-system workloads of a cluster, from its Node and kube-system Pod objects."""
    return Observation(_node_sizes(nodes), _system_workloads(pods))


def _differs(recorded: Any, observed: str) -> bool:
    return recorded is None or not math.isclose(quantity(recorded), quantity(observed), rel_tol=1e-3,
                                                abs_tol=1e-9)


def _contradicted(prefix: str, recorded: Mapping[str, Any], **observed: str) -> list[str]:
    """One line per quantity of `observed` that its recorded counterpart does not equal."""
    return [f"{prefix}.{key}: {recorded.get(key)} recorded, {value} on the cluster"
            for key, value in observed.items() if _differs(recorded.get(key), value)]


def compare(seen: Observation, prices: Mapping[str, Any]) -> list[str]:
    """Each figure of config/prices.yaml the cluster contradicts, by key, recorded value first."""
    out = []
    recorded_sizes = prices.get("node_sizes") or {}
    for size in seen.sizes.values():
        rec = recorded_sizes.get(size.size)
        if rec is None:
            out.append(f"node_sizes.{size.size}: not recorded; the cluster has {size.nodes} such node(s) offering "
                       f"{size.allocatable_cpu} CPU / {size.allocatable_memory}")
            continue
        out += _contradicted(f"node_sizes.{size.size}", rec, allocatable_cpu=size.allocatable_cpu,
                             allocatable_memory=size.allocatable_memory)
    recorded_pods = prices.get("system_pods") or {}
    for pod in seen.system.values():
        rec = recorded_pods.get(pod.name)
        if rec is None:
            out.append(f"system_pods.{pod.name}: not recorded; the cluster runs it per {pod.per} "
                       f"({pod.replicas} pod(s)) requesting {pod.cpu} / {pod.memory} each")
            continue
        if rec.get("per") != pod.per:
            out.append(f"system_pods.{pod.name}.per: {rec.get('per')} recorded, {pod.per} on the cluster")
        if pod.per == "cluster" and int(rec.get("replicas", 1)) != pod.replicas:
            out.append(f"system_pods.{pod.name}.replicas: {rec.get('replicas', 1)} recorded, {pod.replicas} "
                       "on the cluster")
        out += _contradicted(f"system_pods.{pod.name}", rec, cpu=pod.cpu, memory=pod.memory)
    for name in sorted(set(recorded_pods) - set(seen.system)):
        out.append(f"system_pods.{name}: recorded, but the cluster runs no such workload in {SYSTEM_NAMESPACE}")
    if not (prices.get("allocatable_check") or {}).get("confirmed"):
        out.append("allocatable_check.confirmed: false recorded; the figures above are what the cluster shows")
    return out


def updated(text: str, seen: Observation, context: str, today: datetime.date) -> str:
    """config/prices.yaml's text with the cluster's figures in it (comments and the other keys kept)."""
    source = f"kubectl on context {context}, {today.isoformat()}"

    def record(tree: Any) -> None:
        unknown = sorted(set(seen.sizes) - set(tree["node_sizes"]))
        if unknown:
            raise LiveNodesError(f"node_sizes has no {', '.join(unknown)}: the cluster runs that size; add it with "
                                 "its monthly price first, then run this again")
        for size in seen.sizes.values():
            tree["node_sizes"][size.size]["allocatable_cpu"] = size.allocatable_cpu
            tree["node_sizes"][size.size]["allocatable_memory"] = size.allocatable_memory
        pods = tree["system_pods"]
        for name in [n for n in pods if n not in seen.system]:
            del pods[name]
        for pod in seen.system.values():
            entry = pods.setdefault(pod.name, {})
            entry["per"] = pod.per
            if pod.per == "cluster":
                entry["replicas"] = pod.replicas
            else:
                entry.pop("replicas", None)
            entry["cpu"], entry["memory"], entry["source"] = pod.cpu, pod.memory, source
        check = tree["allocatable_check"]
        check["date"], check["confirmed"] = today, True
        check["source"] = f"{source} (nodes and {SYSTEM_NAMESPACE} pods)"

    return yaml_edit.edit(text, record)


def write(path: Path, seen: Observation, context: str, today: datetime.date | None = None) -> None:
    """Record the observation in `path` (config/prices.yaml), or raise with nothing written."""
    text = updated(path.read_text(), seen, context, today or datetime.date.today())
    fd, tmp = tempfile.mkstemp(prefix=".prices-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        findings = yamale_findings(Path(tmp), SCHEMAS / "prices.yamale")
        if findings:
            raise LiveNodesError("the updated file would break its schema: "
                                 + "; ".join(f.message for f in findings))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
