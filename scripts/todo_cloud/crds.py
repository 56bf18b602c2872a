"""CRDs of the umbrella's pinned chart archives: the one reader of them, and their schemas as JSON schemas.

Every `crds/` folder at the root of a chart inside charts/todo-chatbot-cloud/charts/*.tgz counts, nested
subcharts (folders or archives) too: Strimzi, Dapr and the prometheus-operator (kube-prometheus-stack's
`crds` subchart) today, and whatever a future upstream chart brings.

- the deploy applies them server-side before every install or upgrade (`crd_files`, `crd_bundle`) and knows
  which API versions they bring (`api_versions`);
- the validate gate (todo_cloud.gates.kubeschema) checks custom resources against their `openAPIV3Schema`,
  turned into strict JSON schemas (`schemas_of`, `to_json_schema`), as do the event backbone's tests;
- `LOADER` reads the YAML 1.1 `=` (value) tag that some upstream CRDs carry, for every CRD source
  (todo_cloud.gates.external_crds too).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from todo_cloud import yamlfile
from todo_cloud.deps import CHARTS_DIR
from todo_cloud.render import LOADER as LOADER_OF_RENDERS


class _Loader(LOADER_OF_RENDERS):  # type: ignore[misc,valid-type]
    """The render harness's loader (libyaml), also reading the `=` value tag some upstream CRDs carry as a
    plain string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
LOADER: type[yaml.SafeLoader] = _Loader


@dataclass(frozen=True)
class CrdFile:
    """One file of a `crds/` folder: where it came from (`archive!member`) and its YAML text."""

    source: str
    text: str

    @property
    def archive(self) -> str:
        """The name of the top-level chart archive the file comes from."""
        return self.source.split("!", 1)[0]


def _crd_members(tar: tarfile.TarFile, origin: str) -> list[CrdFile]:
    members = {m.name: m for m in tar.getmembers() if m.isfile()}
    found: list[CrdFile] = []
    for name in sorted(members):
        path = PurePosixPath(name)
        fh = tar.extractfile(members[name])
        if fh is None:
            continue
        if path.suffix == ".tgz" and path.parent.name == "charts":
            with tarfile.open(fileobj=io.BytesIO(fh.read()), mode="r:gz") as nested:
                found += _crd_members(nested, f"{origin}!{name}")
        elif (path.parent.name == "crds" and path.suffix in (".yaml", ".yml", ".json")
              and str(path.parent.parent / "Chart.yaml") in members):
            found.append(CrdFile(f"{origin}!{name}", fh.read().decode()))
    return found


def chart_archives(charts_dir: Path = CHARTS_DIR) -> list[Path]:
    """The pinned upstream chart archives in the umbrella's charts/ folder, sorted."""
    return sorted(charts_dir.glob("*.tgz"))


def crd_files(charts_dir: Path = CHARTS_DIR) -> list[CrdFile]:
    """Every CRD file of every chart archive in `charts_dir`, in archive and path order."""
    found: list[CrdFile] = []
    for archive in chart_archives(charts_dir):
        with tarfile.open(archive, mode="r:gz") as tar:
            found += _crd_members(tar, archive.name)
    return found


def crd_bundle(files: list[CrdFile]) -> str:
    """One YAML stream of the CRD files, each headed by its source, for `kubectl apply -f -`.

    The files are passed as they are (not re-serialised): some hold YAML that PyYAML cannot read back.
    """
    return "".join(f"---\n# Source: {f.source}\n{f.text.strip().removeprefix('---').strip()}\n" for f in files)


def documents(text: str) -> Iterator[dict[str, Any]]:
    """The CustomResourceDefinition documents of a YAML stream."""
    for doc in yamlfile.loads_all(text, LOADER):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            yield doc


def api_versions(files: list[CrdFile]) -> set[str]:
    """The group/versions the CRD files serve once applied (e.g. `kafka.strimzi.io/v1`)."""
    served: set[str] = set()
    for f in files:
        for doc in documents(f.text):
            spec = doc["spec"]
            served |= {f"{spec['group']}/{v['name']}" for v in spec.get("versions", []) if v.get("served", True)}
    return served


# --- schemas ----------------------------------------------------------------------------------------------


def to_json_schema(node: Any) -> Any:
    """A CRD's openAPIV3Schema as a strict JSON schema: objects with declared properties reject unknown
    fields (as the API server's field validation does), Kubernetes extensions are honoured."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable"):
        out.pop("nullable")
        if "type" in out:
            out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out and not node.get(
            "x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    return out


def _object_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of a whole object: apiVersion and kind as strings, metadata left to the API server."""
    props = schema.setdefault("properties", {})
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    props["metadata"] = {"type": "object"}  # checked by the API server, not by the CRD
    return schema


def schemas_of(crds: Iterable[dict[str, Any]], source: str) -> dict[str, dict[str, Any]]:
    """`group/version/Kind` -> {source, scope, schema} of every served CRD version."""
    schemas: dict[str, dict[str, Any]] = {}
    for crd in crds:
        spec = crd["spec"]
        for version in spec.get("versions", []):
            raw = (version.get("schema") or {}).get("openAPIV3Schema")
            if raw is None or not version.get("served", True):
                continue
            key = f"{spec['group']}/{version['name']}/{spec['names']['kind']}"
            schemas[key] = {"source": source, "scope": spec.get("scope", "Namespaced"),
                            "schema": _object_schema(to_json_schema(raw))}
    return schemas


def chart_schemas(files: Iterable[CrdFile]) -> dict[str, dict[str, Any]]:
    """Schemas of every CRD version of the chart archives' CRD files, each sourced by its archive's name."""
    return {k: v for f in files for k, v in schemas_of(documents(f.text), f.archive).items()}
