"""The offline gates behind `todo-cloud validate`, `policy` and `report`.

Every gate returns Finding objects: which gate, which object (or file), which rule, and what is wrong,
so that a failure always names the object and the rule it broke.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from todo_cloud import versions
from todo_cloud.render import Manifest, render_environment, render_subchart


@dataclass(frozen=True)
class Finding:
    """One broken rule: `where` is an object (`<env>: Kind/namespace/name`) or a file."""

    gate: str
    where: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


def object_id(doc: Manifest) -> str:
    """`Kind/namespace/name` of a rendered object (namespace `-` for cluster-scoped or unset)."""
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind', '?')}/{meta.get('namespace') or '-'}/{meta.get('name', '?')}"


ObjectKey = tuple[str, str, str, str]


def object_key(doc: Manifest) -> ObjectKey:
    """Identity of an object across renders: apiVersion, kind, namespace, name."""
    meta = doc.get("metadata") or {}
    return (doc.get("apiVersion", ""), doc.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


def local_charts() -> list[tuple[str, str]]:
    """(chart, values key) of our own charts in the umbrella, from versions.toml [[local]]."""
    return [(c["chart"], c.get("alias", c["chart"])) for c in versions.load().get("local", [])]


def own_object_keys(env: str) -> set[ObjectKey]:
    """Keys of the objects our own charts render in `env` (the rest of the release is upstream)."""
    keys: set[ObjectKey] = set()
    for chart, key in local_charts():
        keys.update(object_key(d) for d in render_subchart(chart, env, key=key))
    return keys


def render_all(env_names: Sequence[str]) -> dict[str, list[Manifest]]:
    """Every environment's whole release (cached by the render harness)."""
    return {env: render_environment(env) for env in env_names}


def pod_spec(doc: Manifest) -> dict[str, Any] | None:
    """The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ...), or None."""
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template", {}).get("spec")
    template = spec.get("template")
    if isinstance(template, dict) and kind in WORKLOAD_KINDS:
        return template.get("spec")
    return None


def pod_labels(doc: Manifest) -> dict[str, str]:
    """Labels of the pods a workload creates."""
    if doc.get("kind") == "Pod":
        return (doc.get("metadata") or {}).get("labels") or {}
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}


def containers(doc: Manifest) -> Iterable[dict[str, Any]]:
    """Every container and init container of a workload."""
    spec = pod_spec(doc) or {}
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
