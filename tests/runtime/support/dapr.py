"""Helpers of the runtime suite shared by its conftest and test modules: the daprd run of the Dapr tests."""

from __future__ import annotations

import os
import secrets as random_secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.runtime.support.standin import FAIL, StandIn
from todo_cloud.processes import Supervisor
from todo_cloud.render import Manifest
from todo_cloud.runtime import daprd_plan, jaeger, prometheus
from todo_cloud.runtime.daprd import Daprd

# The environment whose rendered objects the runtime suite runs (production: what must work).
RUNTIME_ENV = os.environ.get("TODO_CLOUD_RUNTIME_ENV", "production")
# Components that need a server this run does not start, by type, with the server they need: left out of
# the daprds of the tests that use neither (the Kafka and PostgreSQL harnesses load them).
NEEDS_A_SERVER = {"pubsub.kafka": "Kafka", "state.postgresql": "PostgreSQL", "state.redis": "Redis"}
# The Dapr sidecar's metrics port, as the app pods name it (the sidecar container port the PodMonitor scrapes).
SIDECAR_METRICS_PORT = "dapr-metrics"


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
