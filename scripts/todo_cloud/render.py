"""The render harness: `helm template` a chart with values files and overrides, parsed into objects.

One helper for the CLI and the tests alike. Every document is parsed, empty ones are dropped, a failure
raises RenderError carrying Helm's stderr, and results are cached by (chart content, values, options):
in memory per process and on disk behind a file lock, so a full pytest-xdist run renders each
environment once.

Kept within 1.5x of a raw `helm template` of the same chart and values with a cold cache (`make bench`
measures both): the output is parsed with libyaml (PyYAML's C loader, 10x its pure-Python one), and a
file's digest is computed again only when its size or modification time changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock

from todo_cloud import deps, envs, profiles, tools, versions, yamlfile
from todo_cloud.manifests import Manifest
from todo_cloud.paths import CACHE, CHARTS, UMBRELLA
from todo_cloud.run import CommandError, run

# API groups of the CRDs our charts create objects of, announced to `helm template` (--api-versions) so
# that capability checks behave as on a cluster where the operators are installed.
CLUSTER_API_VERSIONS = (
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1alpha1",
    "kafka.strimzi.io/v1",
    "core.strimzi.io/v1",
    "dapr.io/v1alpha1",
    "dapr.io/v2alpha1",
    "gateway.networking.k8s.io/v1",
    "cert-manager.io/v1",
    "policy/v1/PodDisruptionBudget",
    "autoscaling/v2",
)

class RenderError(CommandError):
    """`helm template` failed; the message carries Helm's stderr (which names the failing value)."""


LOADER = yamlfile.LOADER

# path -> ((size, mtime, inode), sha256 of its content): files are read again only when they change.
_file_digests: dict[str, tuple[tuple[int, int, int], bytes]] = {}


def _file_digest(path: str) -> bytes:
    st = os.stat(path)
    key = (st.st_size, st.st_mtime_ns, st.st_ino)
    known = _file_digests.get(path)
    if known is not None and known[0] == key:
        return known[1]
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).digest()
    _file_digests[path] = (key, digest)
    return digest


def _tree_digest(chart: Path, digest: Any) -> None:
    for root, dirs, files in os.walk(chart, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, chart).encode() + b"\0" + _file_digest(path))


def _cache_key(chart: Path, values: Sequence[Path], overrides: Mapping[str, Any] | None, opts: dict) -> str:
    digest = hashlib.sha256(json.dumps(opts, sort_keys=True).encode())
    _tree_digest(chart, digest)
    for v in values:
        digest.update(b"\0values\0" + v.read_bytes())
    digest.update(json.dumps(overrides or {}, sort_keys=True, default=str).encode())
    return digest.hexdigest()


_memory: dict[str, list[Manifest]] = {}


def parse_documents(text: str) -> list[Manifest]:
    """All non-empty YAML documents of a rendered stream."""
    return [doc for doc in yaml.load_all(text, Loader=LOADER) if doc]


def render_chart(
    chart: Path,
    values: Iterable[Path] = (),
    overrides: Mapping[str, Any] | None = None,
    *,
    release: str = "todo-chatbot",
    namespace: str = "todo-chatbot",
    include_crds: bool = False,
) -> list[Manifest]:
    """Render `chart` with `values` files (in order) and `overrides` (a values dict applied last)."""
    values = [Path(v) for v in values]
    if chart.is_dir() and chart.resolve().is_relative_to(CHARTS):
        # our charts' file:// dependencies (a packaged or pulled chart carries its own in charts/)
        deps.link_file_dependencies(chart)
    opts = {
        "release": release,
        "namespace": namespace,
        "crds": include_crds,
        "kube": versions.kubernetes_version(),
        "helm": versions.tool("helm")["version"],
    }
    key = _cache_key(chart, values, overrides, opts)
    if key in _memory:
        return _memory[key]
    store = CACHE / "render"
    store.mkdir(parents=True, exist_ok=True)
    cached = store / f"{key}.json"
    with FileLock(str(store / f"{key}.lock")):
        if cached.is_file():
            docs = json.loads(cached.read_text())
        else:
            docs = _helm_template(chart, values, overrides, opts)
            tmp = cached.with_suffix(".part")
            tmp.write_text(json.dumps(docs))
            tmp.replace(cached)
    _memory[key] = docs
    return docs


def template_command(chart: Path, values: Sequence[Path], *, release: str, namespace: str,
                     include_crds: bool = False) -> list[str | Path]:
    """The `helm template` command line the harness runs (`make bench` times it raw, for comparison)."""
    cmd: list[str | Path] = [tools.path("helm"), "template", release, chart, "--namespace", namespace,
                             "--kube-version", versions.kubernetes_version()]
    for api in CLUSTER_API_VERSIONS:
        cmd += ["--api-versions", api]
    if include_crds:
        cmd.append("--include-crds")
    for v in values:
        cmd += ["--values", v]
    return cmd


def _helm_template(chart: Path, values: list[Path], overrides: Mapping[str, Any] | None, opts: dict) -> list:
    with tempfile.TemporaryDirectory(prefix="todo-render-") as tmp:
        extra: list[Path] = []
        if overrides:
            extra.append(Path(tmp) / "overrides.yaml")
            extra[0].write_text(yaml.safe_dump(dict(overrides)))
        cmd = template_command(chart, [*values, *extra], release=opts["release"], namespace=opts["namespace"],
                               include_crds=opts["crds"])
        try:
            out = run(cmd, timeout=300).stdout
        except CommandError as exc:
            raise RenderError(exc.cmd, exc.returncode, exc.stdout, exc.stderr) from None
    return parse_documents(out)


def render_environment(env: str, overrides: Mapping[str, Any] | None = None, *,
                       profile: str | None = None) -> list[Manifest]:
    """The whole umbrella release of one environment, its profile's layer included, or that of `profile`
    instead (todo_cloud.profiles; needs the umbrella's dependencies in place)."""
    e = envs.get(env)
    files = profiles.values_files(e, profile) if profile else e.values_files
    return render_chart(UMBRELLA, files, overrides, release=e.release, namespace=e.namespace)


def lookup(values: Any, path: Sequence[str], default: Any = None) -> Any:
    """The value at `path` (keys from the root) of a values tree, or `default` where the path ends early."""
    node = values
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return node


def deep_merge(base: dict, top: Mapping) -> dict:
    """`top` merged into `base` as Helm merges values files (maps deeply, everything else replaced)."""
    out = dict(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def subchart_values(key: str, env: str | None) -> dict:
    """Values that the umbrella hands the subchart under `key`: umbrella defaults, then the environment's
    files (its profile's layer, then its own file), each as `global` plus the subtree at `key` (Helm's own
    coalescing, reproduced for one subchart)."""
    files = [UMBRELLA / "values.yaml", *(envs.get(env).values_files if env is not None else ())]
    merged: dict = {}
    for layer in (yamlfile.load(f) or {} for f in files):
        merged = deep_merge(merged, {"global": layer.get("global") or {}, **(layer.get(key) or {})})
    return merged


def render_subchart(
    chart: str, env: str | None, overrides: Mapping[str, Any] | None = None, *, key: str | None = None
) -> list[Manifest]:
    """One of our own charts (charts/<chart>) rendered alone, with the values the umbrella would give it
    under `key` (default: the chart name, or an alias) in environment `env`; needs no upstream chart."""
    values = deep_merge(subchart_values(key or chart, env), overrides or {})
    e = envs.get(env) if env else None
    return render_chart(
        CHARTS / chart, (), values,
        release=e.release if e else "todo-chatbot", namespace=e.namespace if e else "todo-chatbot",
    )


def find(docs: Iterable[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """Objects of `kind` (and `name`) among rendered documents."""
    return [d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]


def get(docs: Iterable[Manifest], kind: str, name: str) -> Manifest:
    """The one object of `kind` named `name`; raises LookupError listing what exists of that kind."""
    found = find(docs, kind, name)
    if len(found) != 1:
        names = sorted(d["metadata"]["name"] for d in find(docs, kind))
        raise LookupError(f"expected one {kind} {name!r}, found {len(found)}; {kind} objects: {names}")
    return found[0]


def write_manifests(docs: Iterable[Manifest], out: Path, header: str) -> list[Path]:
    """Write one file per object, `<kind>-<name>.yaml` (namespace-prefixed on a clash), under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    written: list[Path] = []
    for doc in docs:
        meta = doc.get("metadata", {})
        stem = f"{doc['kind'].lower()}-{meta['name']}"
        path = out / f"{stem}.yaml"
        if path in written:
            path = out / f"{meta.get('namespace', '_cluster')}-{stem}.yaml"
        path.write_text(f"# {header}\n" + yaml.safe_dump(doc, sort_keys=False))
        written.append(path)
    return written
