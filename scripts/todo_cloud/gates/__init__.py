"""The offline gates behind `todo-cloud validate`, `policy` and `report`.

Every gate returns Finding objects: which gate, which object (or file), which rule, and what is wrong,
so that a failure always names the object and the rule it broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from todo_cloud import versions
from todo_cloud.manifests import Manifest, ObjectKey, object_key
from todo_cloud.render import render_environment, render_subchart


@dataclass(frozen=True)
class Finding:
    """One broken rule: `where` is an object (`<env>: Kind/namespace/name`) or a file."""

    gate: str
    where: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: [{self.rule}] {self.message}"


def own_object_keys(env: str) -> set[ObjectKey]:
    """Keys of the objects our own charts render in `env` (the rest of the release is upstream)."""
    keys: set[ObjectKey] = set()
    for local in versions.local_charts():
        keys.update(object_key(d) for d in render_subchart(local.chart, env, key=local.key))
    return keys


def render_all(env_names: Sequence[str]) -> dict[str, list[Manifest]]:
    """Every environment's whole release (cached by the render harness)."""
    return {env: render_environment(env) for env in env_names}
