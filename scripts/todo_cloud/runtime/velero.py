"""Velero's server on 127.0.0.1 against a cluster's API server, configured from the rendered release: the restore
drill (tests/cluster/test_backup_restore_drill.py) backs a simulated cluster up with it and restores a fresh one.

What to start is decided from the rendered objects, without a cluster (`plan`):
- the `velero server` arguments of the release's Deployment `velero` (features, log format, default TTL,
  uploader), with the run's own: the kubeconfig, the namespace Velero watches, the plugin folder, loopback
  addresses for its metrics and profiler, a short backup sync period;
- the objects the server works from, moved into that namespace: the release's default BackupStorageLocation
  re-pointed at the run's object store (`config.s3Url`, `s3ForcePathStyle`: a loopback address has no
  virtual-hosted bucket names; bucket, prefix, region and checksum setting stay as rendered), the release's
  Schedule and the ConfigMap its `resourcePolicy` names, and its Deployment `velero` scaled to 0 (the server runs
  here as a local process, but Velero's restore reads its own image off the Deployment `velero` of its namespace
  and fails every restore without it);
- Velero's CRDs, from the pinned chart archive (todo_cloud.crds; never copied into the repository).

`start()` is the thin runner: the server (versions.toml [go_builds.velero]) and its AWS object-store plugin
([go_tools.velero-plugin-for-aws]), both built from the Go module proxy by `make prereqs` (todo_cloud.prereqs,
the callers find them there), started under the caller's supervisor, bounded by its metrics endpoint; `cli` runs
the same build as the client an operator uses. `wait_done` polls a Velero object until it
ends, naming the server's log when the server exits or the deadline passes; `results` reads what Velero wrote of a
backup or restore (its errors and warnings by namespace) from the bucket.
"""

from __future__ import annotations

import copy
import gzip
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import crds
from todo_cloud.manifests import Manifest
from todo_cloud.processes import LOOPBACK, Supervisor, http_status
from todo_cloud.run import Completed, run
from todo_cloud.runtime.s3 import ObjectStore

SERVER = "velero"
PLUGIN = "velero-plugin-for-aws"
CHART = "velero"
START_TIMEOUT = 60.0
# How often the server lists the bucket for backups made elsewhere (the chart's default is a minute).
SYNC_PERIOD = "2s"
API_VERSION = "velero.io/v1"
DONE = {"Backup": ("Completed", "PartiallyFailed", "Failed", "FailedValidation"),
        "Restore": ("Completed", "PartiallyFailed", "Failed", "FailedValidation")}

Kubectl = Callable[..., Completed[str]]


class PlanError(ValueError):
    """The rendered release lacks what the drill needs of it; the message says what."""


class VeleroFailed(RuntimeError):
    """A Velero object ended badly or not in time; the message names it, its phase and the log to read."""


@dataclass(frozen=True)
class Plan:
    """What one Velero server of a run starts with (module docstring)."""

    args: tuple[str, ...]
    objects: tuple[Manifest, ...]
    bucket: str
    prefix: str
    schedule: str


def _one(rendered: Iterable[Manifest], kind: str, what: str, match: Callable[[Manifest], bool]) -> Manifest:
    found = [d for d in rendered if d.get("kind") == kind and match(d)]
    if len(found) != 1:
        names = sorted(d["metadata"]["name"] for d in rendered if d.get("kind") == kind)
        raise PlanError(f"the release renders {len(found)} {what}, expected one ({kind} objects: {names or 'none'};"
                        " is velero.enabled on?)")
    return found[0]


def server_deployment(rendered: Iterable[Manifest]) -> Manifest:
    """The release's Deployment `velero`."""
    return _one(list(rendered), "Deployment", "Deployment velero", lambda d: d["metadata"]["name"] == SERVER)


def server_args(rendered: Iterable[Manifest]) -> list[str]:
    """The `velero server` arguments of the release's Deployment `velero` (its container `velero`)."""
    deployment = server_deployment(rendered)
    container = next((c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == SERVER), None)
    if container is None or (container.get("args") or [None])[0] != "server":
        raise PlanError("Deployment velero has no container `velero` running `velero server`")
    return [str(a) for a in container["args"]]


def _moved(doc: Manifest, namespace: str) -> Manifest:
    """A copy of a rendered object in `namespace`, without what Helm and the chart put on it for the release."""
    out = copy.deepcopy(doc)
    meta = out["metadata"]
    meta["namespace"] = namespace
    meta.pop("labels", None)
    return out


def default_location(rendered: Iterable[Manifest]) -> Manifest:
    """The release's default BackupStorageLocation, as rendered."""
    return _one(list(rendered), "BackupStorageLocation", "default BackupStorageLocation",
                lambda d: bool(d["spec"].get("default")))


def region(rendered: Iterable[Manifest]) -> str:
    """The region the release's default storage location names (the object store of a run serves it)."""
    return str((default_location(rendered)["spec"].get("config") or {}).get("region") or "")


def storage_location(rendered: Iterable[Manifest], store: ObjectStore, namespace: str) -> Manifest:
    """The release's default BackupStorageLocation in `namespace`, re-pointed at `store`."""
    location = _moved(default_location(rendered), namespace)
    config = location["spec"].setdefault("config", {})
    if config.get("region") != store.region:
        raise PlanError(f"BackupStorageLocation {location['metadata']['name']}: region {config.get('region')!r}, "
                        f"but the object store serves {store.region!r}")
    config.update({"s3Url": store.endpoint, "s3ForcePathStyle": "true"})
    return location


def plan(rendered: Sequence[Manifest], store: ObjectStore, *, kubeconfig: Path, namespace: str, schedule: str,
         plugin_dir: Path, metrics_port: int, profiler_port: int) -> Plan:
    """The server of a run against `kubeconfig`, watching `namespace`, with the release's Schedule whose name
    ends in `-<schedule>` (module docstring)."""
    location = storage_location(rendered, store, namespace)
    chosen = _moved(_one(rendered, "Schedule", f"Schedule *-{schedule}",
                         lambda d: d["metadata"]["name"].endswith(f"-{schedule}")), namespace)
    deployment = _moved(server_deployment(rendered), namespace)
    deployment["spec"]["replicas"] = 0
    objects = [location, chosen, deployment]
    policy = (chosen["spec"]["template"].get("resourcePolicy") or {}).get("name")
    if policy:
        objects.append(_moved(_one(rendered, "ConfigMap", f"ConfigMap {policy} (the Schedule's resourcePolicy)",
                                   lambda d: d["metadata"]["name"] == policy), namespace))
    args = [*server_args(rendered), f"--kubeconfig={kubeconfig}", f"--namespace={namespace}",
            f"--plugin-dir={plugin_dir}", f"--metrics-address={LOOPBACK}:{metrics_port}",
            f"--profiler-address={LOOPBACK}:{profiler_port}", f"--backup-sync-period={SYNC_PERIOD}",
            f"--store-validation-frequency={SYNC_PERIOD}"]
    object_storage = location["spec"]["objectStorage"]
    return Plan(tuple(args), tuple(objects), str(object_storage["bucket"]), str(object_storage.get("prefix") or ""),
                chosen["metadata"]["name"])


def crd_documents() -> str:
    """Velero's CRDs from the pinned chart archive in the umbrella's charts/ (a YAML stream for kubectl)."""
    files = [f for f in crds.crd_files() if f.archive.startswith(f"{CHART}-")]
    if not files:
        raise PlanError("no Velero CRDs: the umbrella's charts/ holds no velero chart archive (run `make deps`)")
    return crds.crd_bundle(files)


# --- running ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A running Velero server."""

    name: str
    metrics: str
    log: Path


def start(sup: Supervisor, name: str, the_plan: Plan, store: ObjectStore, workdir: Path, *, binary: Path,
          plugin: Path, timeout: float = START_TIMEOUT) -> Server:
    """Start the planned server (`binary`, with the object-store `plugin` in its plugin folder) under `sup`, with
    the credentials of `store`, bounded by its metrics endpoint."""
    plugin_dir = Path(next(a for a in the_plan.args if a.startswith("--plugin-dir=")).split("=", 1)[1])
    plugin_dir.mkdir(parents=True, exist_ok=True)
    link = plugin_dir / PLUGIN
    if not link.exists():
        link.symlink_to(plugin)
    credentials = workdir / f"{name}-credentials"
    credentials.write_text(store.credentials.aws_file())
    credentials.chmod(0o600)
    scratch = workdir / f"{name}-scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    sup.start(name, [binary, *the_plan.args], cwd=workdir, env={
        "PATH": "/usr/bin:/bin", "HOME": str(workdir), "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "VELERO_SCRATCH_DIR": str(scratch)})
    address = next(a for a in the_plan.args if a.startswith("--metrics-address=")).split("=", 1)[1]
    metrics = f"http://{address}/metrics"
    sup.wait_for(name, lambda: http_status(metrics) == 200, timeout=timeout, what="Velero's metrics endpoint")
    return Server(name, metrics, sup.log(name))


def cli(binary: Path, kubeconfig: Path, namespace: str, *args: str, home: Path,
        timeout: float = 60) -> Completed[str]:
    """The `velero` client (`binary`, the same build as the server) against `kubeconfig`, in `namespace`: the
    commands an operator runs (`backup create --from-schedule`, `restore create --from-backup`); CommandError on
    a failure."""
    return run([binary, *args, f"--kubeconfig={kubeconfig}", f"--namespace={namespace}"],
               env={"PATH": "/usr/bin:/bin", "HOME": str(home)}, timeout=timeout)


def get(kubectl: Kubectl, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """A Velero object as the API server has it, None when it does not exist (yet)."""
    got = kubectl("-n", namespace, "get", f"{kind.lower()}s.velero.io", name, "-o", "yaml", check=False, timeout=30)
    return yaml.safe_load(got.stdout) if got.returncode == 0 else None


def wait_done(kubectl: Kubectl, kind: str, namespace: str, name: str, server: Server, *, timeout: float,
              sup: Supervisor) -> dict[str, Any]:
    """Poll a Backup or Restore until it ends (Completed or not: the caller judges); VeleroFailed, with the
    server's log tail, when the server exits or the deadline passes first."""
    deadline = time.monotonic() + timeout
    while True:
        sup.check_alive(server.name)
        obj = get(kubectl, kind, namespace, name)
        phase = ((obj or {}).get("status") or {}).get("phase")
        if obj is not None and phase in DONE[kind]:
            return obj
        if time.monotonic() > deadline:
            raise VeleroFailed(f"{kind} {namespace}/{name} not done after {timeout:.0f} s (phase {phase}); last "
                               f"lines of {server.log}:\n{sup.tail(server.name, 40)}")
        time.sleep(1)


def results(store: ObjectStore, the_plan: Plan, kind: str, name: str) -> dict[str, Any]:
    """The results file Velero wrote to the bucket for Backup or Restore `name` (errors and warnings by
    namespace); {} when there is none."""
    folder = store.root / the_plan.bucket / the_plan.prefix / f"{kind.lower()}s" / name
    path = folder / (f"{name}-results.gz" if kind == "Backup" else f"restore-{name}-results.gz")
    if not path.is_file():
        return {}
    return json.loads(gzip.decompress(path.read_bytes()))
