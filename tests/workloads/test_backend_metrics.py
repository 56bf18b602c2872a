"""The backend's /metrics against what the generated alert rules and dashboards query, and its behaviour
when PostgreSQL goes away (a real outage: the server is stopped, then started again).

Expectations are derived, never restated: the backend's metrics from config/observability/metrics.yaml
(target `backend`), the labels and exact label values from every PromQL expression of
charts/platform/rules/*.rules.yaml and charts/platform/dashboards/*.json that reads one of those metrics.
Labels Prometheus attaches at scrape time (job, namespace, pod, ...) are not the app's to expose.
The exposition is parsed with prometheus_client's parser. The sidecar is the recording stand-in
(tests.workloads.support), not daprd.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import promql_parser
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.workloads.support import SERVICES, FakeSidecar, start_service, write_secret
from todo_cloud import yamlfile
from todo_cloud.observability import promql
from todo_cloud.paths import CHARTS
from todo_cloud.processes import Supervisor
from todo_cloud.runtime import postgres

RULES = sorted((CHARTS / "platform" / "rules").glob("*.rules.yaml"))
DASHBOARDS = sorted((CHARTS / "platform" / "dashboards").glob("*.json"))
# Target labels: set by Prometheus from the scrape target (ServiceMonitor), never by the app.
TARGET_LABELS = {"job", "namespace", "instance", "pod", "service", "container", "endpoint"}
NAME_LABEL = "__name__"
PROBE_PATHS = ("/health", "/ready", "/metrics")
# Seconds the backend may take to be ready again once PostgreSQL is back (its pool's reconnect timeout is 10 s;
# the readiness probe polls every 10 s).
RECOVERY = 25


@dataclass(frozen=True)
class Matcher:
    metric: str
    label: str
    op: str
    value: str
    where: str


def backend_metrics() -> frozenset[str]:
    return promql.catalogue().targets["backend"].metrics


def expressions() -> Iterator[tuple[str, str]]:
    """(where, expr) of every rule and every PromQL query of a dashboard panel (Loki's are LogQL)."""
    for path in RULES:
        for group in yamlfile.load(path)["groups"]:
            for rule in group["rules"]:
                yield f"{path.name}: {rule.get('alert') or rule.get('record')}", rule["expr"]
    for path in DASHBOARDS:
        stack: list[Any] = [json.loads(path.read_text())]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if isinstance(node.get("expr"), str) and (node.get("datasource") or {}).get("type") == "prometheus":
                    yield f"{path.name}: {node.get('refId', '?')}", promql.substitute_grafana_variables(node["expr"])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)


def _walk(node: Any, grouping: tuple[str, ...], found: list[tuple[Any, tuple[str, ...]]]) -> None:
    """Vector selectors of `node` with the labels of the aggregations around them."""
    if isinstance(node, promql_parser.VectorSelector):
        found.append((node, grouping))
        return
    if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
        grouping = grouping + tuple(node.modifier.labels)
    for child in promql._children(node):
        _walk(child, grouping, found)


def queried() -> tuple[dict[str, set[str]], list[Matcher]]:
    """Per backend metric, the label names queried (matchers and `by` groupings); and every matcher."""
    metrics = backend_metrics()
    labels: dict[str, set[str]] = defaultdict(set)
    matchers: list[Matcher] = []
    for where, expr in expressions():
        found: list[tuple[Any, tuple[str, ...]]] = []
        _walk(promql_parser.parse(expr), (), found)
        for selector, grouping in found:
            name = selector.name
            job = {m.name: m.value for m in selector.matchers.matchers}.get("job")
            if name not in metrics or job not in (None, "backend"):
                continue
            for m in selector.matchers.matchers:
                labels[name].add(m.name)
                matchers.append(Matcher(name, m.name, str(m.op).removeprefix("MatchOp."), m.value, where))
            labels[name].update(grouping)
    ignored = TARGET_LABELS | {NAME_LABEL}
    return {k: v - ignored for k, v in labels.items()}, [m for m in matchers if m.label not in ignored]


def samples(exposition: str) -> dict[str, list[dict[str, str]]]:
    """Sample name -> label sets, from the Prometheus text format."""
    out: dict[str, list[dict[str, str]]] = defaultdict(list)
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            out[sample.name].append(dict(sample.labels))
    return out


@dataclass
class Outage:
    """What the backend answered before, during and after PostgreSQL was stopped, and its metrics."""

    statuses: dict[str, int]
    exposition: str
    todos_after: list[str]
    # Seconds from PostgreSQL's restart until /ready answered 200 again.
    recovery: float


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory, api_token: str) -> Iterator[Outage]:
    tmp = tmp_path_factory.mktemp("outage")
    sidecar = FakeSidecar(token=api_token).start()
    statuses: dict[str, int] = {}
    try:
        with Supervisor(tmp / "run", grace=5) as sup, postgres.running(sup, databases=["todo"]) as pg:
            env = {"DATABASE_URL_FILE": str(write_secret(tmp, "DATABASE_URL", pg.databases["todo"].url)),
                   "DAPR_API_TOKEN_FILE": str(write_secret(tmp, "DAPR_API_TOKEN", api_token)),
                   "DAPR_HTTP_PORT": str(sidecar.port)}
            backend = start_service(sup, "backend", SERVICES["backend"], env)
            with backend.client() as client:
                statuses["ready before"] = client.get("/ready").status_code
                todo = client.post("/api/todos", json={"title": "before"})
                statuses["create before"] = todo.status_code
                statuses["get before"] = client.get(f"/api/todos/{todo.json()['id']}").status_code
                client.get("/metrics")
                pg.stop()
                statuses["health during"] = client.get("/health").status_code
                statuses["ready during"] = client.get("/ready").status_code
                statuses["create during"] = client.post("/api/todos", json={"title": "during"}).status_code
                statuses["list during"] = client.get("/api/todos").status_code
                exposition = client.get("/metrics").text
                pg.start()
                start = time.monotonic()
                while client.get("/ready").status_code != 200 and time.monotonic() - start < RECOVERY:
                    time.sleep(1)
                recovery = time.monotonic() - start
                statuses["list after"] = client.get("/api/todos").status_code
                todos_after = [t["title"] for t in client.get("/api/todos").json()]
    finally:
        sidecar.stop()
    yield Outage(statuses, exposition, todos_after, recovery)


def test_the_rules_and_dashboards_query_backend_metrics_with_labels() -> None:
    labels, matchers = queried()
    assert labels and matchers, "no rule or dashboard reads a backend metric: the derivation found nothing"


def test_a_database_outage_fails_requests_with_503_while_health_stays_up_and_ready_recovers(outage: Outage) -> None:
    assert outage.statuses == {
        "ready before": 200, "create before": 201, "get before": 200, "health during": 200,
        "ready during": 503, "create during": 503, "list during": 503, "list after": 200}
    assert outage.recovery < RECOVERY
    assert outage.todos_after == ["before"]


def test_the_backend_exposes_every_metric_the_catalogue_lists_for_it(outage: Outage) -> None:
    assert backend_metrics() - set(samples(outage.exposition)) == set()


def test_every_label_the_rules_and_dashboards_query_is_on_the_backends_series(outage: Outage) -> None:
    exposed = samples(outage.exposition)
    labels, _ = queried()
    missing = {f"{metric}: {label}" for metric, names in labels.items() for label in names
               for series in exposed[metric] if label not in series}
    assert missing == set()


def test_every_exact_label_value_the_rules_match_is_produced_during_an_outage(outage: Outage) -> None:
    exposed = samples(outage.exposition)
    _, matchers = queried()
    equal = {m for m in matchers if m.op == "Equal"}
    assert equal, "no exact matcher found on backend metrics"
    unmatched = [m for m in equal if not any(s.get(m.label) == m.value for s in exposed[m.metric])]
    assert unmatched == []


def test_server_errors_of_the_outage_are_counted_under_the_failing_handlers(outage: Outage) -> None:
    """The API routes and the readiness probe answered 503; /health did not fail."""
    exposed = samples(outage.exposition)
    errors = {(s["handler"], s["method"]) for s in exposed["http_requests_total"]
              if s.get("status") == "5xx"}
    assert errors == {("/api/todos", "POST"), ("/api/todos", "GET"), ("/ready", "GET")}


def test_probes_and_metrics_are_exactly_what_the_slo_queries_exclude_and_api_routes_are_not(outage: Outage) -> None:
    handlers = {s["handler"] for s in samples(outage.exposition)["http_requests_total"]}
    exclusions = {m.value for m in queried()[1] if m.label == "handler" and m.op == "NotRe"}
    assert exclusions, "no handler exclusion found in the rules"
    for pattern in exclusions:
        excluded = {h for h in handlers if re.fullmatch(pattern, h)}
        assert excluded == {h for h in handlers if h in PROBE_PATHS} == {"/health", "/ready", "/metrics"}
    assert {"/api/todos", "/api/todos/{todo_id}"} <= handlers


def test_handlers_are_route_templates_not_raw_paths(outage: Outage) -> None:
    handlers = {s["handler"] for s in samples(outage.exposition)["http_requests_total"]}
    assert not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", h) for h in handlers), handlers


def test_the_latency_histogram_has_the_bucket_the_latency_slo_reads(outage: Outage) -> None:
    les = {m.value for m in queried()[1] if m.label == "le"}
    assert les
    buckets = {s["le"] for s in samples(outage.exposition)["http_request_duration_seconds_bucket"]}
    assert les <= buckets
