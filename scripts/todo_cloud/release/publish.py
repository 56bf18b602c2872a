"""Publishing the umbrella chart to an OCI registry: package (dependencies included), refuse a version
that the registry already has, push, and report the digest.

The registry defaults to the DigitalOcean Container Registry's `charts` repository; TODO_CLOUD_CHART_REGISTRY
or `--registry` name another. Loopback registries (tests, a local mirror) are spoken to over plain HTTP.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from todo_cloud import tools, yamlfile
from todo_cloud.paths import UMBRELLA
from todo_cloud.run import CommandError, run

DEFAULT_REGISTRY = "oci://registry.digitalocean.com/todo-chatbot/charts"
REGISTRY_ENV = "TODO_CLOUD_CHART_REGISTRY"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class PublishError(RuntimeError):
    """Publishing was refused or failed; the message names the chart, version or registry."""


@dataclass(frozen=True)
class Published:
    """A chart in the registry: `ref` (oci://.../name:version) and its manifest digest."""

    ref: str
    version: str
    digest: str


def chart_metadata(chart: Path = UMBRELLA) -> dict:
    return yamlfile.load(chart / "Chart.yaml")


def is_loopback(registry: str) -> bool:
    """True for an oci:// registry on this machine (spoken to over plain HTTP)."""
    host = urlsplit(registry).hostname or ""
    return host in LOOPBACK or host.startswith("127.")


def check_registry(registry: str) -> str:
    """The registry reference without a trailing slash; refuses anything but oci://host/path."""
    if not registry.startswith("oci://") or not urlsplit(registry).hostname:
        raise PublishError(f"--registry: {registry!r} is not an OCI registry reference (oci://host/path)")
    return registry.rstrip("/")


def missing_dependencies(chart: Path = UMBRELLA) -> list[str]:
    """Dependencies of Chart.yaml that are not in the chart's charts/ folder (run `make deps`)."""
    present = {p.name for p in (chart / "charts").glob("*")} if (chart / "charts").is_dir() else set()
    missing = []
    for dep in chart_metadata(chart).get("dependencies") or []:
        if f"{dep['name']}-{dep['version']}.tgz" not in present and dep["name"] not in present:
            missing.append(f"{dep['name']} {dep['version']}")
    return missing


def check_dependencies(chart: Path) -> None:
    """Refuse to package a chart whose dependencies are not all in place, naming the missing ones."""
    missing = missing_dependencies(chart)
    if missing:
        raise PublishError(f"{chart.name}: dependencies missing from {chart / 'charts'}: "
                           f"{', '.join(missing)}; run `make deps`")


def _plain(plain_http: bool) -> list[str]:
    return ["--plain-http"] if plain_http else []


def exists(registry: str, name: str, version: str, plain_http: bool) -> bool:
    """Whether `name:version` is in the registry; any answer but found/not found is an error."""
    proc = run([tools.path("helm"), "show", "chart", f"{registry}/{name}", "--version", version,
                *_plain(plain_http)], check=False, timeout=120)
    if proc.returncode == 0:
        return True
    if re.search(r"not found|name unknown|manifest unknown", proc.stderr, re.IGNORECASE):
        return False
    raise PublishError(f"cannot tell whether {name} {version} is in {registry}: {proc.stderr.strip()}")


def package(chart: Path, dest: Path) -> Path:
    """`helm package` the chart with its dependencies into `dest`; returns the archive."""
    check_dependencies(chart)
    meta = chart_metadata(chart)
    run([tools.path("helm"), "package", chart, "--destination", dest], timeout=300)
    archive = dest / f"{meta['name']}-{meta['version']}.tgz"
    if not archive.is_file():
        raise PublishError(f"helm package wrote no {archive.name} into {dest}")
    return archive


def publish(registry: str = DEFAULT_REGISTRY, *, chart: Path = UMBRELLA,
            plain_http: bool | None = None) -> Published:
    """Package `chart` at its Chart.yaml version and push it, unless the registry has that version."""
    registry = check_registry(registry)
    plain = is_loopback(registry) if plain_http is None else plain_http
    meta = chart_metadata(chart)
    name, version = meta["name"], str(meta["version"])
    check_dependencies(chart)
    if exists(registry, name, version, plain):
        raise PublishError(f"{name} {version} is already published in {registry}: versions are immutable, "
                           f"bump `version` in {chart.name}/Chart.yaml")
    with tempfile.TemporaryDirectory(prefix="todo-publish-") as tmp:
        archive = package(chart, Path(tmp))
        try:
            proc = run([tools.path("helm"), "push", archive, registry, *_plain(plain)], timeout=600)
        except CommandError as exc:
            raise PublishError(f"pushing {archive.name} to {registry} failed: {exc.stderr.strip()}") from None
    found = re.search(r"Digest:\s*(sha256:[0-9a-f]{64})", proc.stdout + proc.stderr)
    if not found:
        raise PublishError(f"helm push reported no digest for {name} {version}:\n{proc.stdout}{proc.stderr}")
    return Published(f"{registry}/{name}:{version}", version, found.group(1))
