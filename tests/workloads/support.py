"""Helpers of the workload tests: the services started as real processes, and a recording stand-in for the
Dapr sidecar's HTTP API (kept out of conftest.py so that test modules can import them).

The stand-in is NOT daprd: it records what a service asked its sidecar (method, path, query, headers, body)
and answers as the Dapr HTTP API documents (publish 204, state save 204, state get 200/204, invocation
forwarded to the target app), enforcing the API token like daprd does. The runtime suite runs the real daprd.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from todo_cloud.processes import LOOPBACK, Supervisor, http_status
from todo_cloud.runtime import workloads
from todo_cloud.workloads import COMMON as COMMON  # re-exported for the workload tests
from todo_cloud.workloads import WORKLOADS


@dataclass(frozen=True)
class ServiceSpec:
    """A workload: its folder under workloads/, its Python package, its health path."""

    folder: str
    package: str
    health: str

    @property
    def path(self) -> Path:
        return WORKLOADS / self.folder


SERVICES = {
    "backend": ServiceSpec("backend", "todo_backend", "/health"),
    "analytics": ServiceSpec("analytics", "todo_analytics", "/health"),
    "frontend": ServiceSpec("frontend", "todo_frontend", "/api/health"),
}


@dataclass
class Recorded:
    """One request a service made to its sidecar."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeSidecar:
    """A recording stand-in for one daprd's HTTP API on 127.0.0.1 (see the module docstring)."""

    token: str | None = None
    # App id -> base URL of that app, for service invocation.
    apps: dict[str, str] = field(default_factory=dict)
    # Status the publish API answers (204: accepted); set to 500 to see a publish fail.
    publish_status: int = 204
    # Seconds the publish API takes to answer (a slow broker), to hold a request in flight.
    publish_delay: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    state: dict[str, bytes] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> FakeSidecar:
        sidecar = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def _handle(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                rec = Recorded(self.command, url.path, dict(urllib.parse.parse_qsl(url.query)),
                               {k.lower(): v for k, v in self.headers.items()}, body)
                with sidecar._lock:
                    sidecar.requests.append(rec)
                status, ctype, payload = sidecar.answer(rec)
                self.send_response(status)
                if payload:
                    self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self.publish_status = 204
        self.publish_delay = 0.0

    def answer(self, rec: Recorded) -> tuple[int, str, bytes]:
        """What daprd's HTTP API answers to `rec` (the subset the workloads use)."""
        if self.token is not None and rec.headers.get("dapr-api-token") != self.token:
            return 401, "application/json", b'{"errorCode":"ERR_API_TOKEN","message":"invalid api token"}'
        parts = rec.path.strip("/").split("/")
        if parts[:2] == ["v1.0", "publish"] and rec.method == "POST":
            time.sleep(self.publish_delay)
            return self.publish_status, "application/json", b"" if self.publish_status < 300 else b'{"error":"x"}'
        if parts[:2] == ["v1.0", "state"] and rec.method == "POST" and len(parts) == 3:
            for item in json.loads(rec.body):
                self.state[f"{parts[2]}/{item['key']}"] = json.dumps(item["value"]).encode()
            return 204, "", b""
        if parts[:2] == ["v1.0", "state"] and rec.method == "GET" and len(parts) == 4:
            value = self.state.get(f"{parts[2]}/{urllib.parse.unquote(parts[3])}")
            return (200, "application/json", value) if value is not None else (204, "", b"")
        if parts[:2] == ["v1.0", "invoke"] and len(parts) >= 4 and parts[3] == "method":
            base = self.apps.get(parts[2])
            if base is None:
                return 500, "application/json", b'{"errorCode":"ERR_DIRECT_INVOKE"}'
            target = "/" + "/".join(parts[4:]) + (f"?{urllib.parse.urlencode(rec.query)}" if rec.query else "")
            resp = httpx.request(rec.method, base + target, content=rec.body, timeout=10,
                                 headers={"content-type": rec.headers.get("content-type", "application/json")})
            return resp.status_code, resp.headers.get("content-type", ""), resp.content
        return 404, "application/json", b'{"errorCode":"ERR_NOT_FOUND"}'

    def published(self, topic: str | None = None) -> list[Recorded]:
        """The publish requests so far (to `topic`)."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith("/v1.0/publish/")
                    and (topic is None or r.path.rsplit("/", 1)[1] == topic)]


def write_secret(folder: Path, name: str, value: str) -> Path:
    """A Secret key as the chart mounts it: a file NAME with the value (read-only)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(value + "\n")
    path.chmod(0o400)
    return path


@dataclass
class Service:
    """A workload process started by `start_service`."""

    sup: Supervisor
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=15)


def service_env(spec: ServiceSpec, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a workload process: only what the chart's pod would give it, plus PATH (the runtime
    harness's, todo_cloud.runtime.workloads.process_env)."""
    return workloads.process_env(workloads.Source(spec.path, spec.package), port, extra)


def start_service(sup: Supervisor, name: str, spec: ServiceSpec, env: dict[str, str], *,
                  argv_prefix: list[str] | None = None, cwd: Path | None = None, timeout: float = 30) -> Service:
    """Start `spec` as `python -m <package>` on a free port and wait until its health path answers 200."""
    port = sup.free_port()
    sup.start(name, [*(argv_prefix or []), sys.executable, "-m", spec.package], env=service_env(spec, port, env),
              cwd=cwd)
    service = Service(sup, name, port)
    sup.wait_for(name, lambda: http_status(service.url + spec.health) == 200, timeout=timeout,
                 what=f"{name} to answer {spec.health}")
    return service


def load_module(path: Path, name: str) -> Any:
    """A module of a workload loaded from its file (for its documented constants), without touching sys.path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `check` until true; AssertionError naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
