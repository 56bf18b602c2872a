"""Fixtures of the runtime suite: real processes on 127.0.0.1 configured from one environment's rendered objects.

The Go-built binaries (daprd, Prometheus, Jaeger) are built from the Go module proxy when absent and cached
(todo_cloud.gobuild); a build that cannot be done fails the test that needs it with the reason, it never
skips. Every process runs under one `Supervisor` per run: ports chosen at start, bounded readiness, torn
down after; its folder (logs, configuration) is named in failures and kept by pytest's tmp_path retention.
The tests of one run share it, so they carry `xdist_group` marks and run in one worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dapr_support import RUNTIME_ENV, SIDECAR_METRICS_PORT, DaprRun, built, run_secrets, servered_components
from standin import serve

from todo_cloud import deps, envs
from todo_cloud.processes import Supervisor
from todo_cloud.render import Manifest, render_environment
from todo_cloud.runtime import jaeger, prometheus
from todo_cloud.runtime.daprd import Daprd, Daprds


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
