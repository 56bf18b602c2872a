"""The umbrella's Chart.yaml `dependencies` and its Chart.lock, from versions.toml.

Chart.yaml keeps its hand-written metadata above the marker line; everything below is generated.
Chart.lock's digest is computed as Helm computes it (sha256 over the JSON of [dependencies, lock]),
so `helm dependency build` accepts it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from todo_cloud import versions, yamlfile
from todo_cloud.generate import header
from todo_cloud.paths import UMBRELLA

MARKER = "# -- dependencies below: " + header("chart_deps").lstrip("# ")


def dependencies() -> list[dict]:
    """Chart.yaml dependencies: upstream charts first, then our local charts (each behind `<key>.enabled`)."""
    deps = [
        {"name": c.name, "version": c.version, "repository": c.repository, "condition": c.condition}
        for c in versions.upstream_charts()
    ]
    for local in versions.local_charts():
        meta = yamlfile.load(local.path / "Chart.yaml")
        dep = {"name": meta["name"], "version": meta["version"], "repository": f"file://../{local.chart}"}
        key = local.alias or meta["name"]
        if local.alias:
            dep["alias"] = local.alias
        dep["condition"] = f"{key}.enabled"
        deps.append(dep)
    return deps


def _go_json(deps: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Dependencies as Go's json.Marshal writes chart.Dependency: struct field order, empty fields omitted."""
    return [{k: d[k] for k in keys if d.get(k) or k in ("name", "repository")} for d in deps]


def lock_digest(deps: list[dict], lock: list[dict]) -> str:
    """Helm's HashReq: sha256 of json.Marshal([2][]*chart.Dependency{req, lock})."""
    order = ("name", "version", "repository", "condition", "tags", "enabled", "import-values", "alias")
    data = json.dumps([_go_json(deps, order), _go_json(lock, order)], separators=(",", ":"))
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def generate() -> dict[Path, str]:
    chart_yaml = UMBRELLA / "Chart.yaml"
    text = chart_yaml.read_text()
    head = text.split(MARKER)[0].rstrip("\n") + "\n"
    deps = dependencies()
    body = yaml.safe_dump({"dependencies": deps}, sort_keys=False, width=200)
    lock = [{"name": d["name"], "repository": d["repository"], "version": d["version"]} for d in deps]
    lock_text = (
        header("chart_deps") + "\n"
        + yaml.safe_dump({"dependencies": lock, "digest": lock_digest(deps, lock)}, sort_keys=False, width=200)
    )
    return {chart_yaml: f"{head}{MARKER}\n{body}", UMBRELLA / "Chart.lock": lock_text}
