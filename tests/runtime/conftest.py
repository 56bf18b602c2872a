"""Shared fixtures of the runtime suite: real processes on 127.0.0.1, configured from rendered objects.

Fixtures for every runtime harness to reuse:

- `rendered_objects(env)`: the environment's whole release, rendered once per session (the upstream charts are
  a prerequisite the run builds: `make deps`; where they cannot be had the tests fail, they never skip);
- `platform_values(env)`: the values the platform chart gets in `env` (chart defaults, umbrella, environment
  file), the owner of every expectation;
- `kafka_cluster(env, nodes=None, own=None)`: a running Kafka cluster of `env`'s rendered objects
  (todo_cloud.runtime.kafka.KafkaCluster: `secrets`, `address_map`, `client_config`, `admin`, ...), `nodes`
  defaulting to what the KafkaNodePools declare. One cluster per (env, nodes) and session, shared by every
  test that asks for it; a test that breaks its cluster (stops nodes) names a cluster of its `own` and
  declares it with the marker `kafka_run(env, nodes=None, own=None)`; a test that asks for a cluster says
  which, through the `kafka_env` parameter, the marker, or `platform_run` (the runtime environment's). The
  tests of one environment's clusters run on one pytest-xdist worker (group `kafka-<env>`), in file order, so
  each cluster starts once per run; the clusters an environment's tests ask for start in parallel on first
  use, and another environment's, on another worker, at the same time.

Every cluster runs under the session's temporary folder (`kafka-<env>-<nodes>`), which pytest keeps after the
run: start-up errors name the log to read.

- `dapr_run`: the frontend's and the backend's daprd, Jaeger and Prometheus, from one environment's rendered objects.
- `platform_run`: the end-to-end run (support.e2e): the reference workloads behind their daprds on the runtime
  environment's Kafka cluster (the session's shared one), PostgreSQL, Jaeger and Prometheus.

The Go-built binaries (daprd, Prometheus, Jaeger) are prerequisites (`make prereqs`, todo_cloud.prereqs, cached
by todo_cloud.gobuild), asked for through the `prerequisite` fixture of tests/conftest.py: where one is missing
the test that needs it fails naming it and how to build it, it never skips. Every process runs under one
`Supervisor` per run: ports chosen at start, bounded readiness, torn down after; its folder (logs,
configuration) is named in failures and kept by pytest's tmp_path retention. The tests of one run share it, so
they carry `xdist_group` marks and run in one worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.runtime.support import e2e
from tests.runtime.support.dapr import (
    RUNTIME_ENV,
    SIDECAR_METRICS_PORT,
    DaprRun,
    run_secrets,
    servered_components,
)
from tests.runtime.support.standin import serve
from todo_cloud import deps, envs, yamlfile
from todo_cloud.paths import CHARTS
from todo_cloud.processes import Supervisor
from todo_cloud.render import Manifest, deep_merge, render_environment, subchart_values
from todo_cloud.runtime import jaeger, kafka_plan, prometheus
from todo_cloud.runtime.daprd import Daprd, Daprds
from todo_cloud.runtime.kafka import KafkaCluster, start_cluster

# Environments the Kafka tests run: production (3 brokers, authorization, both listeners) and local (1 broker).
KAFKA_ENVIRONMENTS = ("production", "local")
# Bound of a cluster's start (jar check, format, nodes, users, ACLs, topics).
KAFKA_START_TIMEOUT = 180


def rendered(env: str) -> list[Manifest]:
    """The environment's rendered release (cached by todo_cloud.render across workers and sessions). The
    fixtures that call it ask for `upstream_charts`, so their tests are marked `upstream` and require the charts
    in tests/conftest.py."""
    return render_environment(env)


def values_of_platform(env: str) -> dict:
    """Values of charts/platform in `env`: its defaults, then what the umbrella and the environment give it."""
    defaults = yamlfile.load(CHARTS / "platform" / "values.yaml")
    return deep_merge(defaults, subchart_values("platform", env))


@pytest.fixture(scope="session")
def rendered_objects(upstream_charts: deps.DepsStatus) -> Callable[[str], list[Manifest]]:
    del upstream_charts
    return rendered


@pytest.fixture(scope="session")
def platform_values() -> Callable[[str], dict]:
    return values_of_platform


@dataclass
class _Run:
    """One cluster, started and held by its own thread (a supervised process dies with the thread that
    started it), until the session ends."""

    env: str
    nodes: int | None
    own: str | None
    workdir: Path
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    cluster: KafkaCluster | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._hold, name=f"kafka-{self.env}-{self.nodes}-{self.own}",
                                       daemon=True)
        self.thread.start()

    def _hold(self) -> None:
        try:
            docs = rendered(self.env)
            the_plan = kafka_plan.plan(docs, namespace=envs.get(self.env).namespace, max_nodes=self.nodes)
            with start_cluster(the_plan, self.workdir, timeout=KAFKA_START_TIMEOUT) as cluster:
                self.cluster = cluster
                self.ready.set()
                self.stop.wait()
        except BaseException as exc:  # handed to every test that asks for this cluster
            self.error = exc
        finally:
            self.ready.set()

    def get(self) -> KafkaCluster:
        if not self.ready.wait(KAFKA_START_TIMEOUT + 120):
            pytest.fail(f"Kafka cluster of {self.env} did not start within {KAFKA_START_TIMEOUT + 120} s "
                        f"(logs: {self.workdir})")
        if self.error is not None:
            raise self.error
        assert self.cluster is not None
        return self.cluster

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=60)


RunKey = tuple[str, int | None, str | None]


def _wanted(config: pytest.Config) -> set[RunKey]:
    return getattr(config, "_kafka_runs_wanted", set())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kafka_run(env, nodes=None, own=None): the Kafka cluster a test asks "
                                       "kafka_cluster for, started with the others in parallel")


def kafka_runs_of(item: pytest.Item) -> set[RunKey]:
    """The clusters a test asks for: its `kafka_env` parameter, its `kafka_run` markers, `platform_run`'s."""
    keys: set[RunKey] = set()
    params = getattr(getattr(item, "callspec", None), "params", {})
    if params.get("kafka_env"):
        keys.add((params["kafka_env"], None, None))
    for mark in item.iter_markers("kafka_run"):
        keys.add((mark.args[0], mark.kwargs.get("nodes"), mark.kwargs.get("own")))
    if "platform_run" in getattr(item, "fixturenames", ()):
        keys.add((RUNTIME_ENV, None, None))
    return keys


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of an environment's Kafka clusters go to one xdist worker (group `kafka-<env>`); note which
    (env, nodes, own) clusters they ask for. A test of a cluster that says none is a usage error."""
    wanted: set[RunKey] = set()
    for item in items:
        if "kafka_cluster" in getattr(item, "fixturenames", ()):
            keys = kafka_runs_of(item)
            if not keys:
                raise pytest.UsageError(f"{item.nodeid} asks for kafka_cluster but names no environment: "
                                        "parametrize it with kafka_env or mark it kafka_run(env)")
            item.add_marker(pytest.mark.xdist_group("kafka-" + "-".join(sorted({k[0] for k in keys}))))
            wanted |= keys
    config._kafka_runs_wanted = wanted  # type: ignore[attr-defined]


@dataclass
class KafkaRuns:
    """The session's Kafka clusters: `runs(env, nodes=None, own=None)` waits for one (starting every cluster of
    that environment the collected tests want, in parallel, on first use); `runs.start(...)` starts them
    without waiting, so that a fixture can start its other processes meanwhile."""

    wanted: set[RunKey]
    tmp_path_factory: pytest.TempPathFactory
    runs: dict[RunKey, _Run] = field(default_factory=dict)

    def start(self, env: str, nodes: int | None = None, own: str | None = None) -> None:
        """Start (not waiting) every cluster of `env` the collected tests want, and the one asked for."""
        for key in sorted({*(k for k in self.wanted if k[0] == env), (env, nodes, own)}, key=str):
            if key not in self.runs:
                name = "-".join(str(k) for k in ("kafka", key[0], key[1] or "all", key[2]) if k)
                self.runs[key] = _Run(*key, self.tmp_path_factory.mktemp(name))
                self.runs[key].start()

    def __call__(self, env: str, nodes: int | None = None, own: str | None = None) -> KafkaCluster:
        self.start(env, nodes, own)
        return self.runs[(env, nodes, own)].get()

    def close(self) -> None:
        for run in self.runs.values():
            run.stop.set()
        for run in self.runs.values():
            run.close()


@pytest.fixture(scope="session")
def kafka_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  upstream_charts: deps.DepsStatus) -> Iterator[KafkaRuns]:
    """`kafka_cluster(env, nodes=None, own=None)`: the session's running cluster of `env` (module docstring)."""
    del upstream_charts
    runs = KafkaRuns(_wanted(request.config), tmp_path_factory)
    yield runs
    runs.close()


@pytest.fixture(params=KAFKA_ENVIRONMENTS)
def kafka_env(request: pytest.FixtureRequest) -> str:
    """Each environment the Kafka tests run, in turn."""
    return request.param


@pytest.fixture(scope="session")
def daprd_binary(prerequisite: Callable[[str], Path]) -> Path:
    return prerequisite("daprd")


@pytest.fixture(scope="session")
def runtime_release(upstream_charts: deps.DepsStatus) -> list[Manifest]:
    """The rendered objects of the runtime suite's environment."""
    del upstream_charts
    return rendered(RUNTIME_ENV)


@pytest.fixture(scope="session")
def dapr_run(runtime_release: list[Manifest], daprd_binary: Path, prerequisite: Callable[[str], Path],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaprRun]:
    """The frontend's and the backend's daprd, calling each other through stand-in apps, traced to Jaeger and
    scraped by Prometheus, all from the rendered objects (the components that need Kafka or PostgreSQL
    are left out: this run has neither)."""
    prerequisite("jaeger"), prerequisite("prometheus")  # built before: start-up timings measure start-up only
    objects = runtime_release
    namespace = envs.get(RUNTIME_ENV).namespace
    timings: dict[str, float] = {}
    workdir = tmp_path_factory.mktemp("dapr-run")
    with Supervisor(workdir, grace=5) as sup, serve("frontend") as frontend, serve("backend") as backend:
        t0 = time.monotonic()
        tracing = jaeger.start(sup, objects)
        timings["jaeger start"] = time.monotonic() - t0
        sidecars = Daprds(sup, objects, secrets=run_secrets(objects), tracing_endpoint=tracing.otlp_grpc,
                          path=daprd_binary)
        leave_out = servered_components(objects)
        started: dict[str, Daprd] = {}
        for app in (backend, frontend):
            t0 = time.monotonic()
            started[app.app_id] = sidecars.start(app.app_id, app_port=app.port, leave_out=leave_out)
            timings[f"daprd {app.app_id} start"] = time.monotonic() - t0
        job, path = prometheus.job_of(objects, SIDECAR_METRICS_PORT)
        jobs = [prometheus.ScrapeJob(job, tuple(d.metrics_target for d in started.values()),
                                     {"namespace": namespace}, path)]
        t0 = time.monotonic()
        prom = prometheus.start(sup, objects, jobs)
        timings["prometheus start"] = time.monotonic() - t0
        yield DaprRun(sup, objects, tracing, prom, started, {"frontend": frontend, "backend": backend},
                      namespace, job, timings)


@pytest.fixture(scope="session")
def platform_run(runtime_release: list[Manifest], daprd_binary: Path, kafka_cluster: KafkaRuns,
                 prerequisite: Callable[[str], Path],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[e2e.PlatformRun]:
    """The platform of the runtime environment running for real (support.e2e), on the session's Kafka cluster
    of that environment (shared with the Kafka tests, which run on the same worker)."""
    prerequisite("jaeger"), prerequisite("prometheus")  # built before: start-up timings measure start-up only
    with Supervisor(tmp_path_factory.mktemp("platform-run"), grace=5) as sup, e2e.running(
            sup, runtime_release, envs.get(RUNTIME_ENV).namespace, daprd_binary=daprd_binary,
            start_kafka=lambda: kafka_cluster.start(RUNTIME_ENV),
            get_kafka=lambda: kafka_cluster(RUNTIME_ENV)) as run:
        yield run
