"""CRD schemas of the pinned upstream charts (Strimzi, Dapr) as JSON schemas, to validate our CRs.

Kept small on purpose (the general schema gate is issue 6's): read the CRDs out of the chart archives,
turn each served version's openAPIV3Schema into a strict JSON schema (unknown fields are errors, as the
API server would prune them silently), cache the result under .cache/crd-schemas/.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from todo_cloud import versions
from todo_cloud.paths import CACHE, UMBRELLA

CHARTS_WITH_CRDS = ("strimzi-kafka-operator", "dapr")


def _archive(name: str) -> Path:
    chart = next(c for c in versions.upstream_charts() if c.name == name)
    return UMBRELLA / "charts" / f"{chart.name}-{chart.version}.tgz"


def _strict(node: Any) -> Any:
    """openAPIV3Schema -> JSON schema: nullable, int-or-string, and no unknown fields."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in node and "additionalProperties" not in node and not node.get(
        "x-kubernetes-preserve-unknown-fields"
    ):
        out["additionalProperties"] = False
    if "properties" in out:
        out["properties"] = {k: _strict(v) for k, v in node["properties"].items()}
    return out


def _load(archive: Path) -> dict[str, dict]:
    schemas: dict[str, dict] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if "/crds/" not in member.name or not member.name.endswith((".yaml", ".yml")):
                continue
            for crd in yaml.safe_load_all(tar.extractfile(member)):  # type: ignore[arg-type]
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if version.get("served"):
                        schema = _strict(version["schema"]["openAPIV3Schema"])
                        schemas[f"{group}/{version['name']}/{kind}"] = schema
    return schemas


def crd_schemas() -> dict[str, dict]:
    """`group/version/Kind` -> JSON schema, for every served version of the pinned charts' CRDs."""
    archives = [_archive(name) for name in CHARTS_WITH_CRDS]
    digest = hashlib.sha256(b"v1").hexdigest()[:8] + "".join(
        hashlib.sha256(a.read_bytes()).hexdigest()[:12] for a in archives
    )
    cache = CACHE / "crd-schemas" / f"{digest}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    schemas: dict[str, dict] = {}
    for archive in archives:
        schemas.update(_load(archive))
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(f".{__import__('os').getpid()}.part")
    tmp.write_text(json.dumps(schemas))
    tmp.replace(cache)
    return schemas


def crd_errors(doc: dict, schemas: dict[str, dict]) -> list[str]:
    """Schema violations of one custom resource (`kind/name: path: message`); unknown kinds are one."""
    key = f"{doc['apiVersion']}/{doc['kind']}"
    where = f"{doc['kind']}/{doc['metadata']['name']}"
    if key not in schemas:
        return [f"{where}: no served CRD version for {key}"]
    validator = jsonschema.Draft7Validator(schemas[key])
    return [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
