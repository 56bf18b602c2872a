"""The shape of each environment's cluster: the one reader of its node pool, Terraform variables and prices.

- local (kind): the worker nodes of config/kind.yaml (their labels: one zone each), with the allocatable
  CPU and memory of config/kind-capacity.yaml, whose `node_count` must agree;
- staging and production (DOKS): terraform/environments/<env>.tfvars (`node_size`, `node_min_count`,
  `node_max_count`, `cluster_name`, `region`) with the allocatable figures of that size in config/prices.yaml,
  the dated price table that also holds DOKS's own kube-system pods and the monthly prices.

The capacity report (todo_cloud.gates.report), the simulated cluster's fake nodes (todo_cloud.sim) and the
live-node check (todo_cloud.gates.live_nodes) all read the pool from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from todo_cloud import terraform, yamlfile
from todo_cloud.paths import CONFIG

PRICES = CONFIG / "prices.yaml"
KIND_CONFIG = CONFIG / "kind.yaml"
KIND_CAPACITY = CONFIG / "kind-capacity.yaml"
# Environments on kind rather than DOKS.
KIND_ENVIRONMENTS = frozenset({"local"})
# The label DOKS (and every cloud provider) sets to a node's size.
SIZE_LABEL = "node.kubernetes.io/instance-type"


class ShapeError(ValueError):
    """The files that describe a node pool disagree or lack an entry; the message names file and key."""


@dataclass(frozen=True)
class NodePool:
    """An environment's node pool at its minimum: `count` nodes of `node_size`, each offering `cpu` and
    `memory` (quantities as the files write them) and carrying its own labels; named `<prefix>-<i>`."""

    source: str
    node_size: str
    count: int
    cpu: str
    memory: str
    labels: tuple[Mapping[str, str], ...]
    prefix: str
    # The autoscaler's maximum (DOKS), None where the pool does not scale (kind).
    max_count: int | None = None


def tfvars(env: str) -> dict[str, Any]:
    """An environment's Terraform variables (terraform/environments/<env>.tfvars), strings unquoted."""
    return terraform.parse_hcl(terraform.tfvars(env))


def prices(path: Path = PRICES) -> dict[str, Any]:
    """The dated price table: node sizes (monthly price, allocatable), DOKS system pods, other prices."""
    return yamlfile.load(path)


def node_size(size: str, env: str, table: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """The price table's entry of a node size; ShapeError naming it when the table has none."""
    entry = ((table if table is not None else prices()).get("node_sizes") or {}).get(size)
    if entry is None:
        raise ShapeError(f"config/prices.yaml: node_sizes has no {size!r} (node_size of {env}.tfvars)")
    return entry


def _kind_pool() -> NodePool:
    kind = yamlfile.load(KIND_CONFIG)
    capacity = yamlfile.load(KIND_CAPACITY)
    workers = [n.get("labels") or {} for n in kind["nodes"] if n.get("role") == "worker"]
    if len(workers) != capacity["node_count"]:
        raise ShapeError(f"config/kind-capacity.yaml: node_count {capacity['node_count']} but config/kind.yaml "
                         f"has {len(workers)} workers")
    return NodePool("config/kind-capacity.yaml", "kind worker", len(workers), str(capacity["allocatable_cpu"]),
                    str(capacity["allocatable_memory"]), tuple(workers), "kind-worker")


def node_pool(env: str) -> NodePool:
    """The node pool of `env` at its minimum (DOKS nodes carry no zone label)."""
    if env in KIND_ENVIRONMENTS:
        return _kind_pool()
    tf = tfvars(env)
    size = node_size(str(tf["node_size"]), env)
    count = int(tf["node_min_count"])
    prefix = f"{tf['cluster_name']}-pool"
    labels = {SIZE_LABEL: str(tf["node_size"]), "topology.kubernetes.io/region": str(tf["region"]),
              "doks.digitalocean.com/node-pool": prefix}
    return NodePool(f"terraform/environments/{env}.tfvars", str(tf["node_size"]), count,
                    str(size["allocatable_cpu"]), str(size["allocatable_memory"]),
                    tuple(labels for _ in range(count)), prefix, int(tf["node_max_count"]))
