"""Golden renders (golden/<env>.yaml): each environment's release as the umbrella renders it, committed so
that a change of values or templates shows as a reviewable diff, and `make check-generated` fails until the
renders are regenerated with the change.

Our charts' objects (those labelled `helm.sh/chart: <chart>-<version>` by charts/app and charts/platform)
are written in full, sorted by kind, namespace and name. The upstream charts' objects are not copied: one
comment line each names the object, its chart and a digest of its content, so a change to one of them shows
as a changed line and `make render ENV=<env>` shows it whole. CustomResourceDefinitions are not rendered.
What a chart generates anew on every render is left out of the digest, so that it is a function of the
chart and values: the values of a Secret (Grafana's admin password where none is given, a self-signed
certificate) and the pod template annotations `checksum/*` that hash them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from todo_cloud import envs, versions, yamlfile
from todo_cloud.generate import header
from todo_cloud.manifests import Manifest, object_id
from todo_cloud.paths import CHARTS, REPO
from todo_cloud.render import render_environment

GOLDEN = REPO / "golden"


def our_chart_labels() -> set[str]:
    """The `helm.sh/chart` label values of our own charts: `<chart>-<version>` from each Chart.yaml."""
    labels = set()
    for chart in versions.local_charts():
        meta = yamlfile.load(CHARTS / chart.chart / "Chart.yaml")
        labels.add(f"{meta['name']}-{meta['version']}")
    return labels


def chart_label(doc: Manifest) -> str:
    return ((doc.get("metadata") or {}).get("labels") or {}).get("helm.sh/chart", "")


def _order(doc: Manifest) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return doc.get("kind", ""), meta.get("namespace", ""), meta.get("name", "")


def _stable(node: object, kind: str = "") -> object:
    """`node` without what a render generates anew: a Secret's values, and `checksum/*` annotations."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if kind == "Secret" and key in ("data", "stringData") and isinstance(value, dict):
                out[key] = sorted(value)  # which keys it holds, not their values
            elif key == "annotations" and isinstance(value, dict):
                out[key] = {k: v for k, v in value.items() if not str(k).startswith("checksum/")}
            else:
                out[key] = _stable(value)
        return out
    if isinstance(node, list):
        return [_stable(item) for item in node]
    return node


def digest(doc: Manifest) -> str:
    """A short content digest of one object (key order does not matter; what a render generates anew, left
    out: `_stable`)."""
    stable = _stable(doc, str(doc.get("kind", "")))
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:16]


def golden(env: str) -> str:
    """The golden render of `env`: a header, our objects in full, then one line per upstream object."""
    ours_labels = our_chart_labels()
    docs = sorted(render_environment(env), key=_order)
    ours = [d for d in docs if chart_label(d) in ours_labels]
    upstream = [d for d in docs if chart_label(d) not in ours_labels]
    lines = [
        header("golden"),
        f"# The {env} environment's release (`todo-cloud render --env {env}`): our charts' {len(ours)} objects",
        f"# in full, then the upstream charts' {len(upstream)} objects, one line each (kind/namespace/name, chart,",
        "# content digest); `make render ENV=" + env + "` shows them whole.",
    ]
    body = "".join("---\n" + yaml.safe_dump(d, sort_keys=False, width=120) for d in ours)
    tail = ["# upstream objects:"] + [
        f"#   {object_id(d)}  {chart_label(d) or '(no chart label)'}  {digest(d)}" for d in upstream]
    return "\n".join(lines) + "\n" + body + "\n".join(tail) + "\n"


def generate() -> dict[Path, str]:
    return {GOLDEN / f"{env}.yaml": golden(env) for env in envs.names()}
