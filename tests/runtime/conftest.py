"""Fixtures of the runtime suite: real processes on 127.0.0.1 configured from one environment's rendered objects.

The Go-built binaries (daprd, Prometheus, Jaeger) are built from the Go module proxy when absent and cached
(todo_cloud.gobuild); a build that cannot be done fails the test that needs it with the reason, it never
skips. Every process runs under one `Supervisor` per run: ports chosen at start, bounded readiness, torn
down after; its folder (logs, configuration) is named in failures and kept by pytest's tmp_path retention.
The tests of one run share it, so they carry `xdist_group` marks and run in one worker.
"""

from __future__ import annotations

import os
import secrets as random_secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from standin import FAIL, StandIn, serve

from todo_cloud import deps, envs, gobuild
from todo_cloud.processes import Supervisor
from todo_cloud.render import Manifest, render_environment
from todo_cloud.runtime import daprd_plan, jaeger, prometheus
from todo_cloud.runtime.daprd import Daprd, Daprds

# The environment whose rendered objects the runtime suite runs (production: what must work).
RUNTIME_ENV = os.environ.get("TODO_CLOUD_RUNTIME_ENV", "production")
# Components that need a server this run does not start, by type, with the server they need: left out of
# the daprds of the tests that use neither (the Kafka and PostgreSQL harnesses load them).
NEEDS_A_SERVER = {"pubsub.kafka": "Kafka", "state.postgresql": "PostgreSQL", "state.redis": "Redis"}
# The Dapr sidecar's metrics port, as the app pods name it (the sidecar container port the PodMonitor scrapes).
SIDECAR_METRICS_PORT = "dapr-metrics"


def built(name: str) -> Path:
    """A pinned Go build, built when absent; the test fails with the reason when it cannot be built."""
    try:
        return gobuild.build(name)
    except gobuild.BuildError as exc:
        pytest.fail(f"{name} could not be built: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def daprd_binary() -> Path:
    return built("daprd")


@pytest.fixture(scope="session")
def runtime_release() -> list[Manifest]:
    """The rendered objects of the runtime suite's environment."""
    status = deps.ensure()
    if not status.ready:
        pytest.skip(f"upstream charts unavailable: {status.reason}")
    return render_environment(RUNTIME_ENV)


def run_secrets(rendered: list[Manifest]) -> dict[str, dict[str, str]]:
    """The Secrets of the namespace as the run has them: a fresh value for every key that a Component's
    `secretKeyRef` or an app's `dapr.io/api-token-secret` reads (the harnesses of Kafka and PostgreSQL
    replace theirs with real credentials)."""
    out: dict[str, dict[str, str]] = {}
    for component in daprd_plan.dapr_objects(rendered, "Component"):
        for ref in daprd_plan.secret_refs(component):
            out.setdefault(ref.secret, {})[ref.key] = random_secrets.token_hex(16)
    for app in daprd_plan.apps(rendered).values():
        if app.api_token_secret:
            out.setdefault(app.api_token_secret, {})[daprd_plan.API_TOKEN_KEY] = random_secrets.token_hex(16)
    return out


def servered_components(rendered: list[Manifest]) -> dict[str, str]:
    """Rendered Component name -> the server it needs, for those this run leaves out."""
    return {c["metadata"]["name"]: NEEDS_A_SERVER[c["spec"]["type"]]
            for c in daprd_plan.dapr_objects(rendered, "Component") if c["spec"]["type"] in NEEDS_A_SERVER}


@dataclass
class DaprRun:
    """Jaeger, one daprd per app (each with a stand-in app), and Prometheus scraping the daprds."""

    sup: Supervisor
    rendered: list[Manifest]
    jaeger: jaeger.Jaeger
    prometheus: prometheus.Prometheus
    sidecars: dict[str, Daprd]
    apps: dict[str, StandIn]
    namespace: str
    sidecar_job: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.sup.workdir

    def failing_call(self, caller: str, callee: str) -> tuple[int, float]:
        """One invocation of the callee's failing path (status, seconds), then one that succeeds: the rendered
        Resiliency's circuit breaker counts consecutive failures, and one failing call (its retries
        included) stays under the trip, so the tests that fail calls do not open it for the others."""
        started = time.monotonic()
        status, _ = self.sidecars[caller].invoke(callee, FAIL.lstrip("/"))
        took = time.monotonic() - started
        assert self.sidecars[caller].invoke(callee, "after-failure")[0] == 200, f"logs: {self.logs}"
        return status, took


@pytest.fixture(scope="session")
def dapr_run(runtime_release: list[Manifest], daprd_binary: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaprRun]:
    """The frontend's and the backend's daprd, calling each other through stand-in apps, traced to Jaeger and
    scraped by Prometheus, all from the rendered objects (the components that need Kafka or PostgreSQL
    are left out: this run has neither)."""
    jaeger_bin, prometheus_bin = built("jaeger"), built("prometheus")
    del jaeger_bin, prometheus_bin  # built up front, so that start-up timings measure start-up only
    rendered = runtime_release
    namespace = envs.get(RUNTIME_ENV).namespace
    timings: dict[str, float] = {}
    workdir = tmp_path_factory.mktemp("dapr-run")
    with Supervisor(workdir, grace=5) as sup, serve("frontend") as frontend, serve("backend") as backend:
        t0 = time.monotonic()
        tracing = jaeger.start(sup, rendered)
        timings["jaeger start"] = time.monotonic() - t0
        sidecars = Daprds(sup, rendered, secrets=run_secrets(rendered), tracing_endpoint=tracing.otlp_grpc,
                          path=daprd_binary)
        leave_out = servered_components(rendered)
        started: dict[str, Daprd] = {}
        for app in (backend, frontend):
            t0 = time.monotonic()
            started[app.app_id] = sidecars.start(app.app_id, app_port=app.port, leave_out=leave_out)
            timings[f"daprd {app.app_id} start"] = time.monotonic() - t0
        job, path = prometheus.job_of(rendered, SIDECAR_METRICS_PORT)
        jobs = [prometheus.ScrapeJob(job, tuple(d.metrics_target for d in started.values()),
                                     {"namespace": namespace}, path)]
        t0 = time.monotonic()
        prom = prometheus.start(sup, rendered, jobs)
        timings["prometheus start"] = time.monotonic() - t0
        yield DaprRun(sup, rendered, tracing, prom, started, {"frontend": frontend, "backend": backend},
                      namespace, job, timings)
