"""Jaeger v2 on loopback: the release's own Jaeger configuration with ports and storage made for the run.

`config()` (pure) takes the Jaeger configuration the release renders (the ConfigMap the umbrella's Jaeger
chart makes from `jaeger.userconfig`) and rewrites only what cannot be the cluster's: every listen endpoint
(OTLP gRPC and HTTP receivers, health check, query HTTP and gRPC, its own metrics) to 127.0.0.1 on a port
chosen at start, and the trace storage the pipeline writes to and the query service reads from to one
in-memory backend (production's Badger backend needs a volume). Receivers, processors, pipelines and
extensions stay as rendered. `start()` runs the pinned build (versions.toml [go_builds.jaeger]) under the
supervisor, bounded by its health check; `Jaeger.traces(service)` finds traces by service.
"""

from __future__ import annotations

import copy
import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import gobuild
from todo_cloud.processes import LOOPBACK, Supervisor, http_status
from todo_cloud.render import Manifest

BUILD = "jaeger"
START_TIMEOUT = 60.0
# The one trace store of the run.
STORE = "harness_memory"


class ConfigError(ValueError):
    """The release renders no usable Jaeger configuration; the message says what is missing."""


@dataclass(frozen=True)
class JaegerPorts:
    otlp_grpc: int
    otlp_http: int
    health: int
    query_http: int
    query_grpc: int
    metrics: int


def rendered_config(rendered: Iterable[Manifest]) -> dict[str, Any]:
    """The Jaeger v2 configuration the release renders (a ConfigMap entry holding a `jaeger_storage` extension)."""
    for obj in rendered:
        if obj.get("kind") != "ConfigMap":
            continue
        for key, text in (obj.get("data") or {}).items():
            if "jaeger_storage" not in text:
                continue
            data = yaml.safe_load(text)
            if isinstance(data, dict) and "jaeger_storage" in data.get("extensions", {}):
                return data
            raise ConfigError(f"ConfigMap/{obj['metadata']['name']} {key}: not a Jaeger v2 configuration")
    raise ConfigError("no rendered ConfigMap holds a Jaeger v2 configuration (extensions.jaeger_storage)")


def config(rendered: Iterable[Manifest], ports: JaegerPorts) -> dict[str, Any]:
    """The rendered Jaeger configuration with the run's endpoints and in-memory storage (module docstring)."""
    cfg = copy.deepcopy(rendered_config(rendered))
    ext = cfg.setdefault("extensions", {})

    def at(port: int) -> str:
        return f"{LOOPBACK}:{port}"

    protocols = cfg.get("receivers", {}).get("otlp", {}).get("protocols", {})
    if "grpc" not in protocols or "http" not in protocols:
        raise ConfigError("the rendered Jaeger configuration has no OTLP gRPC and HTTP receivers (receivers.otlp)")
    protocols["grpc"] = {**(protocols["grpc"] or {}), "endpoint": at(ports.otlp_grpc)}
    protocols["http"] = {**(protocols["http"] or {}), "endpoint": at(ports.otlp_http)}
    if "healthcheckv2" in ext:
        ext["healthcheckv2"].setdefault("http", {})
        ext["healthcheckv2"]["http"] = {**(ext["healthcheckv2"]["http"] or {}), "endpoint": at(ports.health)}
    query = ext.setdefault("jaeger_query", {})
    query["http"] = {"endpoint": at(ports.query_http)}
    query["grpc"] = {"endpoint": at(ports.query_grpc)}
    query["storage"] = {**query.get("storage", {}), "traces": STORE}
    query["storage"].pop("traces_archive", None)
    ext["jaeger_storage"] = {"backends": {STORE: {"memory": {"max_traces": 10000}}}}
    for exporter in cfg.get("exporters", {}).values():
        if isinstance(exporter, dict) and "trace_storage" in exporter:
            exporter["trace_storage"] = STORE
    telemetry = cfg.setdefault("service", {}).setdefault("telemetry", {})
    telemetry["metrics"] = {**telemetry.get("metrics", {}), "readers": [
        {"pull": {"exporter": {"prometheus": {"host": LOOPBACK, "port": ports.metrics}}}}]}
    return cfg


@dataclass
class Jaeger:
    """A running Jaeger."""

    ports: JaegerPorts
    log: Path

    @property
    def otlp_grpc(self) -> str:
        """host:port of the OTLP gRPC receiver (what a Dapr Configuration's otel endpointAddress names)."""
        return f"{LOOPBACK}:{self.ports.otlp_grpc}"

    @property
    def metrics_target(self) -> str:
        return f"{LOOPBACK}:{self.ports.metrics}"

    def services(self) -> list[str]:
        return self._get("/api/services").get("data") or []

    def traces(self, service: str, limit: int = 20) -> list[dict]:
        """Traces of `service` (Jaeger's query API, JSON), newest first."""
        query = urllib.parse.urlencode({"service": service, "limit": limit, "lookback": "1h"})
        return self._get(f"/api/traces?{query}").get("data") or []

    def wait_for_traces(self, service: str, *, timeout: float = 30, predicate: Any = None) -> list[dict]:
        """Poll until a trace of `service` (matching `predicate`, a function of a trace) is stored; bounded."""
        deadline = time.monotonic() + timeout
        while True:
            found = [t for t in self.traces(service) if predicate is None or predicate(t)]
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"no trace of service {service!r} reached Jaeger within {timeout:.0f} s "
                                   f"(services it has: {self.services()}); Jaeger's log: {self.log}")
            time.sleep(0.5)

    def _get(self, path: str) -> dict:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{self.ports.query_http}{path}", timeout=10) as resp:
            return json.loads(resp.read())


def binary() -> Path:
    """The pinned Jaeger, built from the Go module proxy when absent."""
    return gobuild.build(BUILD)


def start(sup: Supervisor, rendered: Iterable[Manifest], *, timeout: float = START_TIMEOUT) -> Jaeger:
    """Start Jaeger with the run's configuration and wait (bounded) until its health check is up."""
    ports = JaegerPorts(*(sup.free_port() for _ in range(6)))
    cfg = sup.workdir / "jaeger.yaml"
    cfg.write_text(yaml.safe_dump(config(rendered, ports), sort_keys=False))
    # Jaeger's query service traces itself through the OpenTelemetry SDK's default exporter (localhost:4317,
    # nothing there on loopback); sampling none of its own spans spares seconds of failed exports at shutdown.
    env = dict(os.environ, OTEL_TRACES_SAMPLER="always_off")
    sup.start("jaeger", [binary(), "--config", cfg], env=env)
    sup.wait_for("jaeger", lambda: http_status(f"http://{LOOPBACK}:{ports.health}/status") == 200
                 and http_status(f"http://{LOOPBACK}:{ports.query_http}/api/services") == 200,
                 timeout=timeout, what="Jaeger's health check and query API")
    return Jaeger(ports, sup.log("jaeger"))
