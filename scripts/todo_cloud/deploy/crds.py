"""CRDs of the umbrella's pinned chart archives, for the server-side apply before every install/upgrade.

Every `crds/` folder at the root of a chart inside charts/todo-chatbot-cloud/charts/*.tgz counts, nested
subcharts (folders or archives) too: Strimzi, Dapr and the prometheus-operator (kube-prometheus-stack's
`crds` subchart) today, and whatever a future upstream chart brings.
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from todo_cloud.deps import CHARTS_DIR


@dataclass(frozen=True)
class CrdFile:
    """One file of a `crds/` folder: where it came from and its YAML text."""

    source: str
    text: str


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


def crd_files(charts_dir: Path = CHARTS_DIR) -> list[CrdFile]:
    """Every CRD file of every chart archive in `charts_dir`, in archive and path order."""
    found: list[CrdFile] = []
    for archive in sorted(charts_dir.glob("*.tgz")):
        with tarfile.open(archive, mode="r:gz") as tar:
            found += _crd_members(tar, archive.name)
    return found


def crd_bundle(files: list[CrdFile]) -> str:
    """One YAML stream of the CRD files, each headed by its source, for `kubectl apply -f -`.

    The files are passed as they are (not re-serialised): some hold YAML that PyYAML cannot read back.
    """
    return "".join(f"---\n# Source: {f.source}\n{f.text.strip().removeprefix('---').strip()}\n" for f in files)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader that reads the `=` value tag some upstream CRDs carry as a plain string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def api_versions(files: list[CrdFile]) -> set[str]:
    """The group/versions the CRD files serve once applied (e.g. `kafka.strimzi.io/v1`)."""
    served: set[str] = set()
    for f in files:
        for doc in yaml.load_all(f.text, Loader=_Loader):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                spec = doc["spec"]
                served |= {f"{spec['group']}/{v['name']}" for v in spec.get("versions", []) if v.get("served", True)}
    return served
