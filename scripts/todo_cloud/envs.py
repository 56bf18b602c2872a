"""Environments (config/environments.yaml) and their values files (values/<env>.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from todo_cloud.paths import CONFIG, VALUES


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
    # privileged); the release namespace is always among them.
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
