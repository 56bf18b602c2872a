"""Self-hosted daprd processes on loopback, one per app, as `daprd_plan.plan` describes them.

Usage:
    with Supervisor(workdir) as sup:
        sidecars = Daprds(sup, rendered, secrets={...}, tracing_endpoint=jaeger.otlp_grpc)
        backend = sidecars.start("backend", app_port=port)      # bounded: /v1.0/healthz/outbound
        status, body = backend.invoke("frontend", "api/health")

The binary is the pinned build of versions.toml [go_builds.daprd] (todo_cloud.gobuild), built when absent.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from todo_cloud import gobuild
from todo_cloud.processes import LOOPBACK, Supervisor, http_status
from todo_cloud.render import Manifest
from todo_cloud.run import run
from todo_cloud.runtime.daprd_plan import DaprdPlan, Ports, plan

BUILD = "daprd"
# Seconds a daprd may take to be ready (its outbound health: components initialised, APIs listening).
START_TIMEOUT = 60.0


def binary() -> Path:
    """The pinned daprd, built from the Go module proxy when absent (gobuild.BuildError says why it cannot)."""
    return gobuild.build(BUILD)


def version(path: Path) -> str:
    """What `daprd --version` prints."""
    return run([path, "--version"], timeout=30).stdout.strip()


@dataclass
class Daprd:
    """One running daprd."""

    plan: DaprdPlan
    name: str
    folder: Path
    log: Path

    @property
    def app_id(self) -> str:
        return self.plan.app.app_id

    @property
    def http_url(self) -> str:
        return f"http://{LOOPBACK}:{self.plan.ports.http}"

    @property
    def metrics_target(self) -> str:
        """host:port of its Prometheus metrics endpoint (path /)."""
        return f"{LOOPBACK}:{self.plan.ports.metrics}"

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
        """An HTTP request to this daprd's API with its API token; (status, body), error statuses included."""
        req = urllib.request.Request(f"{self.http_url}/{path.lstrip('/')}", data=body, method=method,
                                     headers=dict(headers or {}))
        if self.plan.api_token is not None:
            req.add_header("dapr-api-token", self.plan.api_token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def invoke(self, app_id: str, method: str, *, verb: str = "GET", body: bytes | None = None,
               headers: Mapping[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
        """Service invocation of `app_id`'s `method` through this sidecar."""
        return self.request(verb, f"v1.0/invoke/{app_id}/method/{method.lstrip('/')}", body, headers, timeout)

    def metadata(self) -> dict:
        """daprd's /v1.0/metadata: the components, subscriptions and resiliency it loaded."""
        status, body = self.request("GET", "v1.0/metadata")
        if status != 200:
            raise RuntimeError(f"{self.name}: GET /v1.0/metadata answered {status}: {body[:300]!r}")
        return json.loads(body)


def log_entries(log: Path) -> list[dict]:
    """daprd's JSON log lines (`dapr.io/log-as-json`), parsed; other lines are skipped."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def fatal_message(log: Path) -> str | None:
    """The message of daprd's fatal log line (why it refused to start), or None."""
    for entry in log_entries(log):
        if entry.get("level") == "fatal":
            return str(entry.get("msg"))
    return None


class Daprds:
    """The daprds of one run: a shared name resolution file, the rendered objects, the run's Secrets."""

    def __init__(self, sup: Supervisor, rendered: list[Manifest], *, secrets: Mapping[str, Mapping[str, str]],
                 tracing_endpoint: str | None, path: Path | None = None,
                 addresses: Mapping[str, str] | None = None) -> None:
        self.sup = sup
        self.rendered = rendered
        self.secrets = secrets
        self.tracing_endpoint = tracing_endpoint
        self.addresses = dict(addresses or {})
        self.binary = path or binary()
        self.name_resolution_db = sup.workdir / "name-resolution.db"
        self.running: dict[str, Daprd] = {}

    def prepare(self, app_id: str, *, app_port: int | None = None, leave_out: Collection[str] = (),
                replace: Mapping[str, Manifest] | None = None) -> Daprd:
        """Plan one daprd and write its folder (ports chosen now), without starting it."""
        ports = Ports(*(self.sup.free_port() for _ in range(4)))
        name = f"daprd-{app_id}"
        folder = self.sup.workdir / name
        p = plan(self.rendered, app_id, ports=ports, folder=folder, name_resolution_db=self.name_resolution_db,
                 secrets=self.secrets, tracing_endpoint=self.tracing_endpoint, app_port=app_port,
                 leave_out=leave_out, replace=replace, addresses=self.addresses)
        for rel, text in p.files().items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        return Daprd(p, name, folder, self.sup.log(name))

    def launch(self, d: Daprd) -> None:
        """Start a prepared daprd (not waiting for it)."""
        self.sup.start(d.name, d.plan.argv(self.binary, d.folder), env=d.plan.env(os.environ), cwd=d.folder)

    def wait(self, d: Daprd, timeout: float = START_TIMEOUT) -> Daprd:
        """Until a launched daprd's outbound health says ready (components initialised, APIs listening)."""
        self.sup.wait_for(d.name, lambda: http_status(f"{d.http_url}/v1.0/healthz/outbound") == 204,
                          timeout=timeout, what=f"daprd of {d.app_id} to be ready (/v1.0/healthz/outbound)")
        self.running[d.app_id] = d
        return d

    def start(self, app_id: str, *, app_port: int | None = None, leave_out: Collection[str] = (),
              replace: Mapping[str, Manifest] | None = None, timeout: float = START_TIMEOUT) -> Daprd:
        """Start `app_id`'s daprd and wait (bounded) until its outbound health says ready."""
        d = self.prepare(app_id, app_port=app_port, leave_out=leave_out, replace=replace)
        self.launch(d)
        return self.wait(d, timeout)
