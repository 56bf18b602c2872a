"""Reads versions.toml, the one place where tools and upstream charts are pinned."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from typing import Any

from todo_cloud.paths import VERSIONS_FILE


@dataclass(frozen=True)
class UpstreamChart:
    """An upstream chart the umbrella depends on."""

    name: str
    version: str
    repository: str

    @property
    def condition(self) -> str:
        return f"{self.name}.enabled"

    @property
    def archive(self) -> str:
        return f"{self.name}-{self.version}.tgz"


@cache
def load() -> dict[str, Any]:
    with VERSIONS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def tool(name: str) -> dict[str, Any]:
    try:
        return load()["tools"][name]
    except KeyError as exc:
        raise KeyError(f"versions.toml has no [tools.{name}] table") from exc


def kubernetes_version() -> str:
    return load()["kubernetes"]["version"]


def upstream_charts() -> list[UpstreamChart]:
    return [UpstreamChart(name, c["version"], c["repository"]) for name, c in load()["charts"].items()]
