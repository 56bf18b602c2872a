"""Chart dependencies of the umbrella (`make deps`).

Local charts (charts/platform, the app charts) are linked into charts/todo-chatbot-cloud/charts/, so edits
show at once; so is every `file://` dependency of a local chart (the library chart charts/todo-chatbot-lib)
into that chart's own charts/ folder, which is all `helm template`, `helm lint` and `helm package` need.
Upstream charts are taken, at the versions pinned in versions.toml (and Chart.lock):
1. from a local mirror (air-gapped installs): a local chart repository, `index.yaml` plus packaged charts,
   found by the one setting `paths.chart_mirror()` (TODO_CLOUD_CHART_MIRROR, else `shared/chart-mirror`
   beside the repository, else the user cache's chart-mirror folder); each archive must match the sha256
   digest its index.yaml records, else it is refused by name;
2. otherwise from the upstream chart repositories (`helm pull`).
When neither can be had, `ensure()` reports why in one line naming the chart, `todo-cloud deps` (`make deps`,
and so `make test`) exits 1 with it, and the tests that need the upstream charts fail with it: a pinned chart
is a prerequisite, never a reason to skip. Safe under pytest-xdist: the work runs behind a file lock.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock

from todo_cloud import tools, versions, yamlfile
from todo_cloud.paths import CACHE, UMBRELLA, chart_mirror, chart_mirrors
from todo_cloud.run import CommandError, run
from todo_cloud.tools import sha256_file

CHARTS_DIR = UMBRELLA / "charts"
STATUS_FILE = CACHE / "deps-status.json"


class DepsError(RuntimeError):
    """A dependency that was found but must not be used (a corrupt mirror chart)."""


@dataclass(frozen=True)
class DepsStatus:
    """Whether the umbrella's upstream charts are in place; `reason` says why not, in one line."""

    ready: bool
    source: str
    reason: str = ""


def _link(link: Path, target: Path) -> None:
    """Make `link` a symlink to the relative path `target`, replacing whatever is there (atomically: safe when
    several processes link the same chart at once)."""
    if link.is_symlink() and Path(link.readlink()) == target:
        return
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target, target_is_directory=True)
    temporary.replace(link)


def file_dependencies(chart: Path) -> list[tuple[str, str, Path]]:
    """(name, version, chart folder) of each `file://` dependency in `chart`'s Chart.yaml (our own charts)."""
    meta = yamlfile.load(chart / "Chart.yaml") or {}
    return [(dep["name"], str(dep.get("version", "")), (chart / str(dep["repository"]).removeprefix("file://")).resolve())
            for dep in meta.get("dependencies") or [] if str(dep.get("repository", "")).startswith("file://")]


def link_file_dependencies(chart: Path) -> None:
    """Link every `file://` dependency of `chart` into its charts/ folder, and theirs in turn (the library
    chart into charts/app/charts/ and charts/platform/charts/). Cheap and idempotent: the render harness
    calls it before each render, so our charts render on a fresh clone before `make deps`. Helm does not
    compare a linked chart's version with the dependency's, so this does: they must be equal."""
    for name, version, target in file_dependencies(chart):
        if not (target / "Chart.yaml").is_file():
            raise DepsError(f"{chart.name}/Chart.yaml: dependency {name} points at {target}, which holds no chart")
        have = str((yamlfile.load((target / "Chart.yaml")) or {}).get("version", ""))
        if have != version:
            raise DepsError(f"{chart.name}/Chart.yaml: dependency {name} {version}, but {target.name}/Chart.yaml "
                            f"is version {have}; set the dependency's version to {have}")
        link_file_dependencies(target)
        _link(chart / "charts" / name, Path(os.path.relpath(target, chart / "charts")))


def _link_local_charts() -> None:
    for local in versions.local_charts():
        link_file_dependencies(local.path)
        _link(CHARTS_DIR / local.chart, Path("..") / ".." / local.chart)


def _mirror_index(mirror: Path) -> dict | None:
    index = mirror / "index.yaml"
    if not index.is_file():
        return None
    return yamlfile.load(index) or {}


def _from_mirror(chart: versions.UpstreamChart, mirror: Path, index: dict) -> Path | None:
    entries = [e for e in index.get("entries", {}).get(chart.name, []) if e.get("version") == chart.version]
    if not entries:
        return None
    archive = mirror / chart.archive
    if not archive.is_file():
        urls = entries[0].get("urls") or []
        archive = mirror / urls[0] if urls and not urls[0].startswith(("http:", "https:", "oci:")) else archive
    if not archive.is_file():
        return None
    want = entries[0].get("digest", "")
    got = sha256_file(archive)
    if got != want:
        raise DepsError(
            f"mirror chart {archive.name} is corrupt: its sha256 is {got}, "
            f"but {mirror / 'index.yaml'} records {want or 'no digest'}; refusing it"
        )
    return archive


def _from_upstream(chart: versions.UpstreamChart, dest: Path) -> None:
    helm = tools.path("helm")
    if chart.repository.startswith("oci://"):
        cmd = [helm, "pull", f"{chart.repository.rstrip('/')}/{chart.name}", "--version", chart.version]
    else:
        cmd = [helm, "pull", chart.name, "--repo", chart.repository, "--version", chart.version]
    run([*cmd, "--destination", dest], timeout=300)


def _installed(chart: versions.UpstreamChart) -> bool:
    target = CHARTS_DIR / chart.archive
    stamp = CHARTS_DIR / f".{chart.archive}.sha256"
    return target.is_file() and stamp.is_file() and stamp.read_text() == sha256_file(target)


def _copy_in(chart: versions.UpstreamChart, dest: Path, mirror: Path, index: dict | None) -> str:
    """Put the archive of `chart` into the folder `dest`, from the mirror or upstream; where it came from."""
    source = _from_mirror(chart, mirror, index) if index is not None else None
    if source is not None:
        shutil.copyfile(source, dest / chart.archive)
        return f"mirror {mirror}"
    _from_upstream(chart, dest)
    return chart.repository


def _install(chart: versions.UpstreamChart, mirror: Path, index: dict | None) -> str:
    """Put one upstream chart into charts/; returns where it came from, or raises with the reason."""
    origin = _copy_in(chart, CHARTS_DIR, mirror, index)
    (CHARTS_DIR / f".{chart.archive}.sha256").write_text(sha256_file(CHARTS_DIR / chart.archive))
    return origin


def fetch(chart: versions.UpstreamChart, dest: Path) -> Path:
    """The archive of any version of an upstream chart (an earlier commit's pin, say) put into `dest`, from the
    chart mirror (digest-checked) or its repository; DepsError naming the chart and why when neither has it."""
    dest.mkdir(parents=True, exist_ok=True)
    mirror = chart_mirror()
    try:
        _copy_in(chart, dest, mirror, _mirror_index(mirror))
    except CommandError as exc:
        first = (exc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DepsError(f"upstream chart {chart.name} {chart.version}: not in the chart mirror {mirror}, and "
                        f"{chart.repository} is not reachable ({first[:160]})") from exc
    return dest / chart.archive


def _build() -> DepsStatus:
    CHARTS_DIR.mkdir(parents=True, exist_ok=True)
    _link_local_charts()
    wanted = versions.upstream_charts()
    keep = {c.archive for c in wanted}
    for stale in CHARTS_DIR.glob("*.tgz"):
        if stale.name not in keep:
            stale.unlink()
    mirror = chart_mirror()
    index = _mirror_index(mirror)
    origins: set[str] = set()
    for chart in wanted:
        if _installed(chart):
            origins.add("cache")
            continue
        try:
            origins.add(_install(chart, mirror, index))
        except CommandError as exc:
            where = (f"not in the chart mirror {mirror} (no entry)" if index is not None else
                     f"no chart mirror (no index.yaml in {' or '.join(map(str, chart_mirrors()))})")
            first = (exc.stderr.strip().splitlines() or ["no output"])[-1]
            return DepsStatus(False, "none", f"upstream chart {chart.name} {chart.version}: {where}, "
                                             f"and {chart.repository} is not reachable ({first[:160]})")
    return DepsStatus(True, ", ".join(sorted(origins)))


def ensure() -> DepsStatus:
    """Build the umbrella's dependencies once (file lock); corrupt mirror charts raise DepsError."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE / "deps.lock")):
        status = _build()
        STATUS_FILE.write_text(json.dumps(asdict(status)))
        return status


def main() -> int:
    """`todo-cloud deps`: exit 0 with every pinned chart in place, else 1 naming the chart and why."""
    try:
        status = ensure()
    except DepsError as exc:
        print(f"deps: error: {exc}", file=sys.stderr)
        return 1
    if not status.ready:
        print(f"deps: error: {status.reason}", file=sys.stderr)
        return 1
    print(f"deps: umbrella dependencies ready (from {status.source})")
    return 0
