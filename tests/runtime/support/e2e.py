"""The platform run of the end-to-end tests: every Dapr app of the runtime
environment whose image is a reference workload (backend, analytics, frontend stand-in), each a real process
behind its real daprd, on the environment's Kafka cluster (production's: 3 brokers, TLS and SCRAM-SHA-512,
authorization), PostgreSQL, Jaeger and Prometheus, all configured from the rendered objects.

What the run supplies as the cluster would, and where every rewrite for loopback is made (once each):
- the Secrets: the Kafka harness writes what Strimzi would (the pub/sub KafkaUser's password, the cluster CA;
  `runtime.kafka`); the state store's connection string and the apps' DATABASE_URL point at the run's
  PostgreSQL (databases `state` and `todo`); every other key the release requires
  (`deploy.secrets.required_secrets`) gets a value made for the run (`platform_secrets`);
- daprd: ports, Secrets, tracing endpoint, name resolution, no mTLS, and the Kafka bootstrap address
  (`runtime.daprd_plan` module docstring);
- the workloads: image -> workloads/<name>, PORT/HOST, the sidecar's ports, the Secret files' folder
  (`runtime.workloads` module docstring);
- Prometheus: every rule group evaluated each second, and every alert's `for:` is ALERT_HOLD instead of
  the rendered minutes (`runtime.prometheus`); Jaeger: loopback endpoints, in-memory storage (`runtime.jaeger`).
"""

from __future__ import annotations

import secrets as random_secrets
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.runtime.support.dapr import SIDECAR_METRICS_PORT
from todo_cloud.deploy.secrets import required_secrets
from todo_cloud.manifests import pod_labels
from todo_cloud.processes import Supervisor, poll
from todo_cloud.render import Manifest
from todo_cloud.runtime import daprd_plan, jaeger, postgres, prometheus, workloads
from todo_cloud.runtime.daprd import Daprd, Daprds
from todo_cloud.runtime.kafka import KafkaCluster

# Every alert's `for:` in this run: the rendered ones are minutes long (HighErrorRate: 10m); the tests that
# see an alert fire say so, and assert on the rest of the rule as rendered.
ALERT_HOLD = "2s"
# The databases of the run's PostgreSQL: the apps' (DATABASE_URL) and the Dapr state store's.
APP_DATABASE, STATE_DATABASE = "todo", "state"
# The secret file of the workloads' contract that holds the PostgreSQL URL (workloads/README.md).
DATABASE_URL_FILE = "DATABASE_URL"


def reference_apps(rendered: list[Manifest]) -> list[str]:
    """Dapr app ids of the rendered Deployments that run a reference workload (workloads/)."""
    out = []
    for app_id in sorted(daprd_plan.apps(rendered)):
        try:
            workloads.source(workloads.deployment(rendered, app_id))
        except workloads.PlanError:
            continue
        out.append(app_id)
    return out


def platform_secrets(rendered: list[Manifest], namespace: str, *, kafka: Mapping[str, Mapping[str, str]],
                     app_database: str, state_database: str) -> dict[str, dict[str, str]]:
    """The namespace's Secrets as the run has them (module docstring), name -> key -> value."""
    out: dict[str, dict[str, str]] = {}
    for required in required_secrets(rendered, namespace):
        for key in required.keys:
            out.setdefault(required.ref.name, {})[key] = random_secrets.token_hex(16)
    for name, keys in kafka.items():
        out.setdefault(name, {}).update(keys)
    for component in daprd_plan.dapr_objects(rendered, "Component"):
        if component["spec"]["type"] == "state.postgresql":
            for ref in daprd_plan.secret_refs(component):
                if ref.entry == "connectionString":
                    out.setdefault(ref.secret, {})[ref.key] = state_database
    for app_id in reference_apps(rendered):
        for f in workloads.secret_mount(workloads.deployment(rendered, app_id))[1]:
            if f.name == DATABASE_URL_FILE:
                out.setdefault(f.secret, {})[f.key] = app_database
    return out


def service_labels(rendered: list[Manifest], dep: Manifest) -> dict[str, str]:
    """Labels of the rendered Service that selects a Deployment's pods (what a ServiceMonitor selects)."""
    pods = pod_labels(dep)
    for svc in rendered:
        selector = (svc.get("spec") or {}).get("selector") or {}
        if svc.get("kind") == "Service" and selector and all(pods.get(k) == v for k, v in selector.items()):
            return dict(svc["metadata"].get("labels") or {})
    raise AssertionError(f"no rendered Service selects the pods of Deployment/{dep['metadata']['name']}")


def scrape_jobs(rendered: list[Manifest], namespace: str, sidecars: Mapping[str, Daprd],
                apps: Mapping[str, workloads.Workload]) -> list[prometheus.ScrapeJob]:
    """The run's scrape jobs as the rendered monitors name them: every daprd's metrics port, and each app's
    Service port `http` on the path its ServiceMonitor says."""
    job, path = prometheus.job_of(rendered, SIDECAR_METRICS_PORT)
    jobs = [prometheus.ScrapeJob(job, tuple(d.metrics_target for d in sidecars.values()), {"namespace": namespace},
                                 path)]
    for app_id, app in apps.items():
        labels = service_labels(rendered, workloads.deployment(rendered, app_id))
        job, path = prometheus.job_of(rendered, "http", labels)
        jobs.append(prometheus.ScrapeJob(job, (f"127.0.0.1:{app.plan.port}",),
                                         {"namespace": namespace, "app": app_id}, path))
    return jobs


@dataclass
class PlatformRun:
    """The running platform of one environment."""

    sup: Supervisor
    rendered: list[Manifest]
    namespace: str
    kafka: KafkaCluster
    pg: postgres.Postgres
    jaeger: jaeger.Jaeger
    prometheus: prometheus.Prometheus
    sidecars: dict[str, Daprd]
    apps: dict[str, workloads.Workload]
    secrets: dict[str, dict[str, str]]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.sup.workdir

    def wait_ready(self, app_id: str, timeout: float = 30) -> None:
        """Until an app answers its readiness probe's path with 200 (the backend: its database is back)."""
        app = self.apps[app_id]
        if not poll(lambda: app.request("GET", app.plan.readiness_path, timeout=5)[0] == 200, timeout=timeout,
                    interval=0.5):
            raise AssertionError(f"{app_id} not ready within {timeout:.0f} s; logs: {self.logs}")


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60, run: PlatformRun | None = None) -> Any:
    """`check()`'s first truthy result, polled until `timeout`; AssertionError naming `what` (and the run's logs)
    after it. For what the processes do after they answered: a log line, a delivery, a series."""
    result = poll(check, timeout=timeout, interval=0.25)
    if not result:
        raise AssertionError(f"{what}: not within {timeout:.0f} s" + (f"; logs: {run.logs}" if run else ""))
    return result


@contextmanager
def running(sup: Supervisor, rendered: list[Manifest], namespace: str, *, start_kafka: Callable[[], None],
            get_kafka: Callable[[], KafkaCluster], daprd_binary: Path) -> Iterator[PlatformRun]:
    """Start the platform run: PostgreSQL and Jaeger while the Kafka cluster starts, then every app's daprd
    and workload at once (ports chosen first), Prometheus meanwhile; each start bounded, all torn down after."""
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    start_kafka()
    with postgres.running(sup, databases=[APP_DATABASE, STATE_DATABASE]) as pg:
        tracing = jaeger.start(sup, rendered)
        timings["postgres and jaeger up"] = time.monotonic() - t0
        cluster = get_kafka()
        timings["kafka ready"] = time.monotonic() - t0
        supplied = platform_secrets(rendered, namespace, kafka=cluster.secrets,
                                    app_database=pg.databases[APP_DATABASE].url,
                                    state_database=pg.databases[STATE_DATABASE].conninfo)
        daprds = Daprds(sup, rendered, secrets=supplied, tracing_endpoint=tracing.otlp_grpc, path=daprd_binary,
                        addresses=cluster.address_map)
        sidecars: dict[str, Daprd] = {}
        apps: dict[str, workloads.Workload] = {}
        for app_id in reference_apps(rendered):
            port = sup.free_port()
            sidecars[app_id] = daprds.prepare(app_id, app_port=port)
            ports = sidecars[app_id].plan.ports
            files = sup.workdir / f"app-{app_id}-secrets"
            plan = workloads.plan(rendered, app_id, port=port, dapr_http_port=ports.http,
                                  dapr_grpc_port=ports.grpc, secrets=supplied, folder=files)
            apps[app_id] = workloads.launch(sup, plan, files)
            daprds.launch(sidecars[app_id])
        prom = prometheus.start(sup, rendered, scrape_jobs(rendered, namespace, sidecars, apps), hold=ALERT_HOLD)
        for app_id in apps:
            workloads.wait(sup, apps[app_id])
            daprds.wait(sidecars[app_id])
        timings["apps and daprds ready"] = time.monotonic() - t0
        try:
            yield PlatformRun(sup, rendered, namespace, cluster, pg, tracing, prom, sidecars, apps, supplied, timings)
        finally:
            sup.stop_all()  # independent processes: all at once, not one grace period after another
