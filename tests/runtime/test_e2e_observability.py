"""Alerts and traces of the real processes of the runtime environment (support.e2e): Prometheus loads the rendered
PrometheusRules and scrapes the workloads as their rendered monitors say; HighErrorRate stays silent while the
backend answers and fires when it answers 5xx because its database is gone (a real failure); the trace of one
request through the frontend, the backend and the event it publishes reaches Jaeger.

Rewritten for test time, once, in the harness (e2e.ALERT_HOLD, runtime.prometheus): every alert's
`for:` (HighErrorRate's is 10m) and every group's interval (1s). The rest of the rule is asserted as rendered."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.runtime.support.e2e import ALERT_HOLD, PlatformRun
from todo_cloud.runtime import dapr_pubsub, prometheus

ALERT = "HighErrorRate"
BACKEND, FRONTEND, CONSUMER = "backend", "frontend", "analytics"


def rendered_rule(run: PlatformRun, alert: str) -> dict:
    (rule,) = [r for pr in prometheus.prometheus_rules(run.rendered) for g in pr["spec"]["groups"]
               for r in g["rules"] if r.get("alert") == alert]
    return rule


def loaded_rule(run: PlatformRun, alert: str) -> dict:
    (rule,) = [r for g in run.prometheus.rule_groups() for r in g["rules"] if r.get("name") == alert]
    return rule


def backend_job(run: PlatformRun) -> dict[str, str]:
    """The labels the rendered ServiceMonitor of the backend gives its series (job) and the run adds (namespace)."""
    (target,) = [t for t in run.prometheus.targets() if t["labels"].get("app") == BACKEND]
    return {"job": target["labels"]["job"], "namespace": target["labels"]["namespace"]}


def alerts_for(run: PlatformRun, labels: dict[str, str]) -> list[dict]:
    return [a for a in run.prometheus.alerts()
            if a["labels"]["alertname"] == ALERT and all(a["labels"].get(k) == v for k, v in labels.items())]


@contextmanager
def traffic(run: PlatformRun, app_id: str, path: str, workers: int = 3) -> Iterator[list[int]]:
    """Requests to an app's `path` from `workers` threads until the block ends; the statuses answered."""
    statuses: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            statuses.append(run.apps[app_id].request("GET", path, timeout=10)[0])
            time.sleep(0.1)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    try:
        yield statuses
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)


def test_the_alert_rule_is_loaded_as_rendered_but_for_the_runs_hold(platform_run: PlatformRun) -> None:
    rendered, loaded = rendered_rule(platform_run, ALERT), loaded_rule(platform_run, ALERT)
    assert dapr_pubsub.seconds(rendered["for"]) > dapr_pubsub.seconds(ALERT_HOLD), "the hold shortens the rule"
    assert loaded["duration"] == dapr_pubsub.seconds(ALERT_HOLD)
    assert " ".join(loaded["query"].split()) == " ".join(rendered["expr"].split())
    assert (loaded["labels"], loaded["annotations"]) == (rendered["labels"], rendered["annotations"])


def test_the_trace_of_one_request_reaches_jaeger_through_every_sidecar_it_crossed(platform_run: PlatformRun) -> None:
    run = platform_run
    # The caller starts a sampled W3C trace, as an instrumented browser or gateway does (the rendered sampling
    # rate applies to the traces daprd starts itself; Dapr follows a parent's decision).
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    status, todo = run.apps[FRONTEND].request("POST", "/api/todos", {"title": "e2e: traced"},
                                              headers={"traceparent": traceparent})
    assert status == 201, todo

    def whole(trace: dict) -> bool:
        return trace["traceID"] == trace_id and {p["serviceName"] for p in trace["processes"].values()} >= {
            FRONTEND, BACKEND, CONSUMER}

    (trace,) = run.jaeger.wait_for_traces(FRONTEND, predicate=whole, timeout=60)
    operations = {s["operationName"] for s in trace["spans"]}
    assert any("todo-events" in op for op in operations), f"no span of the publish/delivery in {operations}"


def test_high_error_rate_stays_silent_while_the_backend_answers_and_fires_when_its_database_is_gone(
        platform_run: PlatformRun) -> None:
    run = platform_run
    labels = backend_job(run)
    hold = dapr_pubsub.seconds(ALERT_HOLD)
    requests = f'sum by (namespace, job) (rate(http_requests_total{{job="{labels["job"]}"}}[5m])) > 0'

    with traffic(run, BACKEND, "/api/todos") as statuses:
        # Healthy: the rule's denominator has real series (the backend's requests), and the alert stays silent
        # for longer than its hold, evaluated every second: no pending, no firing alert.
        run.prometheus.wait("the backend's requests in Prometheus", lambda: run.prometheus.query(requests))
        deadline = time.monotonic() + hold + 4
        while time.monotonic() < deadline:
            assert alerts_for(run, labels) == [], f"{ALERT} while every answer is 2xx: {set(statuses)}"
            time.sleep(0.5)
        assert statuses and set(statuses) == {200}

    run.pg.stop()
    try:
        with traffic(run, BACKEND, "/api/todos") as statuses:
            firing = run.prometheus.wait(f"{ALERT} firing for the backend", lambda: [
                a for a in alerts_for(run, labels) if a["state"] == "firing"], timeout=90)
        assert 503 in statuses, f"the backend answers 503 without its database: {set(statuses)}"
    finally:
        run.pg.start()
        run.wait_ready(BACKEND)
    (alert,) = firing
    assert {k: alert["labels"][k] for k in labels} == labels
    assert alert["labels"]["severity"] == rendered_rule(run, ALERT)["labels"]["severity"]
    threshold = re.search(r">\s*([0-9.]+)\s*$", rendered_rule(run, ALERT)["expr"].strip())
    assert threshold and float(alert["value"]) > float(threshold.group(1))
    assert run.apps[BACKEND].request("GET", "/api/todos")[0] == 200, "the backend serves again once PostgreSQL is back"
