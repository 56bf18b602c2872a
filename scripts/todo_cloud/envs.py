"""Environments (config/environments.yaml) and their values files (values/<env>.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from todo_cloud.paths import CONFIG, VALUES

# Pod Security admission modes, each set to the namespace's level (todo_cloud.envs.namespace_objects).
POD_SECURITY_MODES = ("enforce", "audit", "warn")


class UnknownEnvironment(ValueError):
    """An environment name that config/environments.yaml does not define."""


@dataclass(frozen=True)
class Environment:
    name: str
    description: str
    release: str
    namespace: str
    kube_context: str
    # Namespaces the deploy creates, name -> Pod Security level enforced there (restricted, baseline,
    # privileged); the release namespace is always among them (under "restricted" unless listed).
    namespaces: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def values_file(self) -> Path:
        return VALUES / f"{self.name}.yaml"


@cache
def all_environments() -> dict[str, Environment]:
    data = yaml.safe_load((CONFIG / "environments.yaml").read_text())["environments"]
    return {
        name: Environment(name, e["description"], e["release"], e["namespace"], e["kubeContext"],
                          {e["namespace"]: "restricted", **(e.get("namespaces") or {})})
        for name, e in data.items()
    }


def names() -> list[str]:
    return list(all_environments())


def get(name: str) -> Environment:
    try:
        return all_environments()[name]
    except KeyError:
        raise UnknownEnvironment(
            f"unknown environment {name!r}; valid environments: {', '.join(names())}"
        ) from None


def namespace_objects(env: Environment) -> list[dict[str, Any]]:
    """The environment's Namespace objects, sorted by name, each labelled with its Pod Security level for
    every admission mode: what the deploy applies first, and make up and the simulated cluster before it."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {
            **{f"pod-security.kubernetes.io/{mode}": level for mode in POD_SECURITY_MODES},
            **{f"pod-security.kubernetes.io/{mode}-version": "latest" for mode in POD_SECURITY_MODES},
            "app.kubernetes.io/part-of": "todo-chatbot-cloud"}}}
        for name, level in sorted(env.namespaces.items())
    ]
