"""The reference workloads (workloads/) as the app chart's pods run them, on loopback.

`plan()` is a pure function of the rendered Deployment of one Dapr app and the ConfigMaps it loads, with these
rewrites, each made here and only here:

- the image: a pod whose component (`app.kubernetes.io/component`) is a reference workload of workloads/ runs
  that workload, as `make up` builds its image (todo_cloud.workloads); no Docker engine runs here, so it runs
  as the image's ENTRYPOINT says (`python -m <package>`) on this Python, with the image's /app on PYTHONPATH
  (workloads/<name> and the shared workloads/common), as the workload tests run it too;
- the environment: the container's `envFrom` ConfigMaps and `env` values as rendered, except PORT (the port
  chosen at start; the rendered one is where the app listens in its pod), HOST 127.0.0.1, and DAPR_HTTP_PORT
  and DAPR_GRPC_PORT, which the sidecar injector sets in the pod: here the ports of the app's daprd of the run;
- Secret files: the projected Secret volume's files are written to a folder of the run (mode 0400) from the
  run's Secrets (name -> key -> value, as the namespace would hold them), and every environment value under
  the volume's mount path (`DATABASE_URL_FILE`, ...) points into that folder instead.

`launch()` starts a planned workload under a `Supervisor`; `wait()` bounds its start by the startup probe's
path (the rendered probe); `Workload` is a small HTTP client of it.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from todo_cloud import workloads
from todo_cloud.manifests import Manifest, containers, dapr_app_id, pod_labels, pod_spec
from todo_cloud.processes import LOOPBACK, Supervisor, http_status

# Seconds a workload may take to answer its startup probe.
START_TIMEOUT = 60.0


class PlanError(ValueError):
    """The rendered objects cannot make a run of a workload; the message names the object and key."""


@dataclass(frozen=True)
class Source:
    """A reference workload as its image runs it: its folder, the module its ENTRYPOINT runs, its /app."""

    folder: Path
    module: str

    @property
    def python_path(self) -> tuple[Path, ...]:
        return workloads.python_path(self.folder.name)


def source(dep: Manifest) -> Source:
    """The reference workload a Deployment's pods run: the one named by their component label."""
    where = f"Deployment/{dep['metadata']['name']}"
    name = pod_labels(dep).get(workloads.COMPONENT_LABEL)
    if name not in workloads.names():
        raise PlanError(f"{where} label {workloads.COMPONENT_LABEL}={name}: no reference workload of that name "
                        f"(workloads/: {', '.join(workloads.names())})")
    try:
        return Source(workloads.WORKLOADS / name, workloads.module(name))
    except workloads.WorkloadError as exc:
        raise PlanError(f"{where}: {exc}") from None


def process_env(src: Source, port: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a workload process: PATH, the image's Python settings, HOST/PORT, then `extra`."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(str(p) for p in src.python_path),
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "HOST": LOOPBACK, **extra, "PORT": str(port)}


@dataclass(frozen=True)
class SecretFile:
    """One file of the projected Secret volume: its name in the mount and the Secret key it holds."""

    name: str
    secret: str
    key: str


@dataclass
class WorkloadPlan:
    """Everything one workload process needs: environment, Secret files (name -> content), probe paths."""

    app_id: str
    workload: str
    source: Source
    port: int
    env: dict[str, str]
    files: dict[str, str]
    startup_path: str
    readiness_path: str
    secret_files: tuple[SecretFile, ...] = field(default=())

    def argv(self, python: str = sys.executable) -> list[str]:
        return [python, "-m", self.source.module]


def deployment(rendered: list[Manifest], app_id: str) -> Manifest:
    """The rendered Deployment whose pods have the Dapr app id `app_id`."""
    found = [d for d in rendered if d.get("kind") == "Deployment" and dapr_app_id(d) == app_id]
    if len(found) != 1:
        have = sorted(a for d in rendered if d.get("kind") == "Deployment" and (a := dapr_app_id(d)))
        raise PlanError(f"{len(found)} rendered Deployments have dapr.io/app-id {app_id!r} (app ids: {have})")
    return found[0]


def app_container(dep: Manifest) -> dict[str, Any]:
    """The app's container of a Deployment: the one named like its Dapr app id (the app chart's), else the first."""
    own = [c for c in containers(dep) if c.get("name") == dapr_app_id(dep)]
    return own[0] if own else next(containers(dep))


def _probe_path(container: Mapping[str, Any], probe: str, where: str) -> str:
    path = ((container.get(probe) or {}).get("httpGet") or {}).get("path")
    if not path:
        raise PlanError(f"{where} containers[{container.get('name')}].{probe}: no httpGet path")
    return str(path)


def secret_mount(dep: Manifest) -> tuple[str, tuple[SecretFile, ...]]:
    """(mount path, files) of the app container's projected Secret volume; ("", ()) when it has none."""
    spec = pod_spec(dep) or {}
    container = app_container(dep)
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        projected = (volumes.get(mount["name"]) or {}).get("projected")
        if not projected:
            continue
        files = tuple(SecretFile(item["path"], src["secret"]["name"], item["key"])
                      for src in projected.get("sources") or [] if "secret" in src
                      for item in src["secret"].get("items") or [])
        return str(mount["mountPath"]).rstrip("/"), files
    return "", ()


def plan(rendered: list[Manifest], app_id: str, *, port: int, dapr_http_port: int, dapr_grpc_port: int,
         secrets: Mapping[str, Mapping[str, str]], folder: Path) -> WorkloadPlan:
    """The run of `app_id`'s workload, listening on `port`, talking to its daprd on the given ports; `folder`
    is where its Secret files are written (see the module docstring)."""
    dep = deployment(rendered, app_id)
    where = f"Deployment/{dep['metadata']['name']}"
    container = app_container(dep)
    src = source(dep)
    config_maps = {c["metadata"]["name"]: c for c in rendered if c.get("kind") == "ConfigMap"}
    env: dict[str, str] = {}
    for i, ref in enumerate(container.get("envFrom") or []):
        name = (ref.get("configMapRef") or {}).get("name")
        if name is None:
            raise PlanError(f"{where} envFrom[{i}]: only configMapRef can be run here")
        if name not in config_maps:
            raise PlanError(f"{where} envFrom[{i}].configMapRef: ConfigMap/{name} is not rendered")
        env.update({k: str(v) for k, v in (config_maps[name].get("data") or {}).items()})
    for entry in container.get("env") or []:
        if "value" not in entry:
            raise PlanError(f"{where} env {entry.get('name')}: only plain values can be run here")
        env[entry["name"]] = str(entry["value"])
    mount, files = secret_mount(dep)
    contents: dict[str, str] = {}
    for f in files:
        value = secrets.get(f.secret, {}).get(f.key)
        if value is None:
            raise PlanError(f"{where} volume file {f.name}: Secret {f.secret} key {f.key} is not among the "
                            "Secrets supplied to the run")
        contents[f.name] = value
    if mount:
        env = {k: str(folder / v[len(mount) + 1:]) if v.startswith(mount + "/") else v for k, v in env.items()}
    env.update({"DAPR_HTTP_PORT": str(dapr_http_port), "DAPR_GRPC_PORT": str(dapr_grpc_port)})
    return WorkloadPlan(app_id, where, src, port, env, contents, _probe_path(container, "startupProbe", where),
                        _probe_path(container, "readinessProbe", where), files)


@dataclass
class Workload:
    """A running workload of the run."""

    plan: WorkloadPlan
    name: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.plan.port}"

    def request(self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None,
                timeout: float = 30) -> tuple[int, Any]:
        """An HTTP request to the workload; (status, parsed JSON body or text), error statuses included."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = int(resp.status), resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = int(exc.code), exc.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def log_entries(self) -> list[dict]:
        """The workload's JSON log lines, parsed."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


def launch(sup: Supervisor, p: WorkloadPlan, folder: Path) -> Workload:
    """Write the Secret files into `folder` (read-only) and start the workload, not waiting for it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in p.files.items():
        path = folder / name
        path.write_text(content + "\n")
        path.chmod(0o400)
    name = f"app-{p.app_id}"
    sup.start(name, p.argv(), env=process_env(p.source, p.port, p.env), cwd=folder)
    return Workload(p, name, sup.log(name))


def wait(sup: Supervisor, w: Workload, timeout: float = START_TIMEOUT) -> float:
    """Until the workload answers its startup probe's path with 200 (bounded); the seconds it took."""
    return sup.wait_for(w.name, lambda: http_status(w.url + w.plan.startup_path) == 200, timeout=timeout,
                        what=f"{w.plan.workload} to answer {w.plan.startup_path}")
