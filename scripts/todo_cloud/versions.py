"""Reads versions.toml, the one place where tools and upstream charts are pinned."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from todo_cloud.paths import CHARTS, VERSIONS_FILE


@dataclass(frozen=True)
class UpstreamChart:
    """An upstream chart the umbrella depends on."""

    name: str
    version: str
    repository: str
    # The values path that switches the chart on (versions.toml `condition`); default `<name>.enabled`.
    switch: str | None = None

    @property
    def condition(self) -> str:
        return self.switch or f"{self.name}.enabled"

    @property
    def archive(self) -> str:
        return f"{self.name}-{self.version}.tgz"


@dataclass(frozen=True)
class LocalChart:
    """One of our own charts in the umbrella (charts/<chart>), under `key` in the umbrella's values."""

    chart: str
    alias: str | None = None

    @property
    def key(self) -> str:
        """The umbrella's values key of the chart: its alias, else its name."""
        return self.alias or self.chart

    @property
    def path(self) -> Path:
        return CHARTS / self.chart


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
    return [UpstreamChart(name, c["version"], c["repository"], c.get("condition"))
            for name, c in load()["charts"].items()]


def local_charts() -> list[LocalChart]:
    """Our own charts in the umbrella, in versions.toml [[local]] order: the one list of them."""
    return [LocalChart(entry["chart"], entry.get("alias")) for entry in load().get("local", [])]
