"""Grafana dashboards of todo-chatbot-cloud, defined in Python: Application Overview, Kafka, Kubernetes
and Dapr. Each panel names its data source by uid; Prometheus queries may only read metrics of the
metrics catalogue (or the SLO recording rules), which `build()` checks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from todo_cloud import yamlfile
from todo_cloud.observability import ObservabilityError, promql
from todo_cloud.observability.rules import RECORD_PREFIX
from todo_cloud.paths import UMBRELLA

NS = 'namespace="$namespace"'
RATE = "[$__rate_interval]"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # timeseries, stat or logs
    datasource: str = "prometheus"
    width: int = 12
    description: str = ""


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    file: str
    description: str
    panels: tuple[Panel, ...]
    tags: tuple[str, ...] = field(default=("todo-chatbot",))


def q(expr: str, legend: str = "") -> Query:
    return Query(" ".join(expr.split()), legend)


@cache
def datasources() -> dict[str, str]:
    """Provisioned Grafana data sources, uid -> type: the stack's Prometheus (sidecar) and the
    umbrella values' additionalDataSources (Loki, Jaeger)."""
    values = yamlfile.load(UMBRELLA / "values.yaml") or {}
    grafana = (values.get("kube-prometheus-stack") or {}).get("grafana") or {}
    sidecar = ((grafana.get("sidecar") or {}).get("datasources") or {})
    found = {str(sidecar.get("uid", "prometheus")): "prometheus"}
    for ds in grafana.get("additionalDataSources") or []:
        found[str(ds["uid"])] = str(ds["type"])
    return found


def application_overview() -> Dashboard:
    b = f'job="backend",{NS},handler!~"/health|/ready|/metrics"'
    return Dashboard(
        "todo-chatbot-app", "Application Overview", "application-overview",
        "Backend SLOs, traffic, errors and latency; frontend health; service invocations; error logs.",
        (
            Panel("Backend availability (1h)", (q(f'1 - {RECORD_PREFIX}1h{{slo="backend-availability"}}'),),
                  "percentunit", "stat", width=6),
            Panel("Availability budget burn rate (1h)",
                  (q(f'{RECORD_PREFIX}1h{{slo="backend-availability"}} / 0.001'),), "short", "stat", width=6,
                  description="1 = the budget lasts exactly the 30-day period; above 14.4 pages."),
            Panel("Backend requests faster than 500 ms (1h)",
                  (q(f'1 - {RECORD_PREFIX}1h{{slo="backend-latency"}}'),), "percentunit", "stat", width=6),
            Panel("Backend requests per second", (q(f"sum(rate(http_requests_total{{{b}}}{RATE}))"),),
                  "reqps", "stat", width=6),
            Panel("Backend requests by status",
                  (q(f"sum by (status) (rate(http_requests_total{{{b}}}{RATE}))", "{{status}}"),), "reqps"),
            Panel("Backend error ratio by handler",
                  (q(f'sum by (handler) (rate(http_requests_total{{{b},status="5xx"}}{RATE})) '
                     f"/ sum by (handler) (rate(http_requests_total{{{b}}}{RATE}))", "{{handler}}"),),
                  "percentunit"),
            Panel("Backend latency", tuple(
                q(f"histogram_quantile({p}, sum by (le) (rate(http_request_duration_seconds_bucket{{{b}}}{RATE})))",
                  f"p{int(p * 100)}") for p in (0.5, 0.95, 0.99)), "s"),
            Panel("Service invocations through Dapr by caller and status",
                  (q(f'sum by (app_id, status) (rate(dapr_runtime_service_invocation_res_recv_total'
                     f'{{job="dapr-sidecar",{NS}}}{RATE}))', "{{app_id}} {{status}}"),), "reqps"),
            Panel("Frontend event loop lag",
                  (q(f'max by (pod) (nodejs_eventloop_lag_seconds{{job="frontend",{NS}}})', "{{pod}}"),), "s"),
            Panel("Container restarts (1h)",
                  (q(f"sum by (pod) (increase(kube_pod_container_status_restarts_total{{{NS}}}[1h])) > 0",
                     "{{pod}}"),), "short"),
            Panel("Error logs", (q(f'{{{NS}}} |~ "(?i)error"'),), kind="logs", datasource="loki", width=24,
                  description="A trace id in a line links to the trace in Jaeger."),
        ),
    )


def kafka() -> Dashboard:
    k = f'job="kafka-broker",{NS}'
    return Dashboard(
        "todo-chatbot-kafka", "Kafka", "kafka",
        "Kafka cluster todo-chatbot-kafka: nodes, partitions, throughput, consumer lag, disks, Strimzi.",
        (
            Panel("Kafka nodes up", (q(f"count(up{{{k}}} == 1)"),), kind="stat", width=6),
            Panel("Active controllers",
                  (q(f"sum(kafka_controller_kafkacontroller_activecontrollercount{{{k}}})"),), kind="stat", width=6),
            Panel("Offline partitions",
                  (q(f"sum(kafka_controller_kafkacontroller_offlinepartitionscount{{{k}}})"),), kind="stat", width=6),
            Panel("Under-replicated partitions",
                  (q(f"sum(kafka_server_replicamanager_underreplicatedpartitions{{{k}}})"),), kind="stat", width=6),
            Panel("Messages in per topic",
                  (q(f'sum by (topic) (rate(kafka_server_brokertopicmetrics_messagesin_total{{{k},topic!=""}}{RATE}))',
                     "{{topic}}"),), "short"),
            Panel("Bytes in and out", (
                q(f'sum(rate(kafka_server_brokertopicmetrics_bytesin_total{{{k},topic=""}}{RATE}))', "in"),
                q(f'sum(rate(kafka_server_brokertopicmetrics_bytesout_total{{{k},topic=""}}{RATE}))', "out")), "Bps",
                description="Broker-wide series only (no topic label), so topics are not counted twice."),
            Panel("Consumer lag by group and topic",
                  (q(f'sum by (consumergroup, topic) (kafka_consumergroup_lag{{job="kafka-exporter",{NS}}})',
                     "{{consumergroup}} {{topic}}"),), "short"),
            Panel("Partitions and leaders per node", (
                q(f"sum by (pod) (kafka_server_replicamanager_partitioncount{{{k}}})", "{{pod}} partitions"),
                q(f"sum by (pod) (kafka_server_replicamanager_leadercount{{{k}}})", "{{pod}} leaders")), "short"),
            Panel("Data volume usage", (q(
                f'max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{NS},'
                f'persistentvolumeclaim=~"data-.*todo-chatbot-kafka-.+"}} / kubelet_volume_stats_capacity_bytes'
                f'{{{NS},persistentvolumeclaim=~"data-.*todo-chatbot-kafka-.+"}})', "{{persistentvolumeclaim}}"),),
                "percentunit"),
            Panel("Strimzi reconciliations failed (1h)",
                  (q('sum by (kind) (increase(strimzi_reconciliations_failed_total{job="strimzi-operator"}[1h]))',
                     "{{kind}}"),), "short"),
        ),
    )


def kubernetes() -> Dashboard:
    c = f'{NS},container!="",container!="POD"'
    return Dashboard(
        "todo-chatbot-kubernetes", "Kubernetes", "kubernetes",
        "The release's pods and the cluster's nodes: CPU, memory, readiness, restarts, capacity.",
        (
            Panel("Pods not ready", (q(f'sum(kube_pod_status_ready{{{NS},condition="false"}})'),), kind="stat",
                  width=6),
            Panel("CPU requested of allocatable", (q(
                'sum(kube_pod_container_resource_requests{resource="cpu"}) '
                '/ sum(kube_node_status_allocatable{resource="cpu"})'),), "percentunit", "stat", width=6),
            Panel("Memory requested of allocatable", (q(
                'sum(kube_pod_container_resource_requests{resource="memory"}) '
                '/ sum(kube_node_status_allocatable{resource="memory"})'),), "percentunit", "stat", width=6),
            Panel("Restarts (1h)",
                  (q(f"sum(increase(kube_pod_container_status_restarts_total{{{NS}}}[1h]))"),), kind="stat", width=6),
            Panel("CPU by pod", (q(f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{c}}}{RATE}))",
                                   "{{pod}}"),), "short"),
            Panel("Memory working set by pod",
                  (q(f"sum by (pod) (container_memory_working_set_bytes{{{c}}})", "{{pod}}"),), "bytes"),
            Panel("Deployments: available of desired replicas", (
                q(f"sum by (deployment) (kube_deployment_status_replicas_available{{{NS}}}) "
                  f"/ sum by (deployment) (kube_deployment_spec_replicas{{{NS}}})", "{{deployment}}"),), "percentunit"),
            Panel("Volume usage", (q(
                f"max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{{{NS}}} "
                f"/ kubelet_volume_stats_capacity_bytes{{{NS}}})", "{{persistentvolumeclaim}}"),), "percentunit"),
            Panel("Node CPU utilisation", (q(
                f'1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}{RATE}))', "{{instance}}"),),
                "percentunit"),
            Panel("Node memory available", (q(
                "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "{{instance}}"),), "percentunit"),
        ),
    )


def dapr() -> Dashboard:
    s = f'job="dapr-sidecar",{NS}'
    return Dashboard(
        "todo-chatbot-dapr", "Dapr", "dapr",
        "Dapr sidecars (HTTP API, service invocation, pub/sub, components) and the Dapr control plane.",
        (
            Panel("Sidecar HTTP requests by app",
                  (q(f"sum by (app_id) (rate(dapr_http_server_request_count{{{s}}}{RATE}))", "{{app_id}}"),),
                  "reqps"),
            Panel("Sidecar HTTP latency p95 by app", (q(
                f"histogram_quantile(0.95, sum by (app_id, le) (rate(dapr_http_server_latency_bucket{{{s}}}{RATE})))",
                "{{app_id}}"),), "ms"),
            Panel("Service invocation error ratio by caller", (q(
                f'sum by (app_id) (rate(dapr_runtime_service_invocation_res_recv_total{{{s},status=~"5.."}}{RATE})) '
                f"/ sum by (app_id) (rate(dapr_runtime_service_invocation_res_recv_total{{{s}}}{RATE}))",
                "{{app_id}}"),), "percentunit"),
            Panel("Service invocation latency p95 by caller", (q(
                f"histogram_quantile(0.95, sum by (app_id, le) "
                f"(rate(dapr_runtime_service_invocation_res_recv_latency_ms_bucket{{{s}}}{RATE})))", "{{app_id}}"),),
                "ms"),
            Panel("Publishes by app, topic and outcome", (q(
                f"sum by (app_id, topic, success) (rate(dapr_component_pubsub_egress_count{{{s}}}{RATE}))",
                "{{app_id}} {{topic}} success={{success}}"),), "short"),
            Panel("Deliveries by app, topic and status", (q(
                f"sum by (app_id, topic, process_status) (rate(dapr_component_pubsub_ingress_count{{{s}}}{RATE}))",
                "{{app_id}} {{topic}} {{process_status}}"),), "short"),
            Panel("Components loaded by app",
                  (q(f"sum by (app_id) (dapr_runtime_component_loaded{{{s}}})", "{{app_id}}"),), "short"),
            Panel("Component init failures (1h)", (q(
                f"sum by (app_id, component) (increase(dapr_runtime_component_init_fail_total{{{s}}}[1h]))",
                "{{app_id}} {{component}}"),), "short"),
            Panel("Sidecar injections", (
                q(f'sum(rate(dapr_injector_sidecar_injection_requests_total{{job="dapr-control-plane"}}{RATE}))',
                  "requests"),
                q(f'sum(rate(dapr_injector_sidecar_injection_failed_total{{job="dapr-control-plane"}}{RATE}))',
                  "failed")), "short"),
            Panel("Sentry certificate signing", (
                q(f'sum(rate(dapr_sentry_cert_sign_request_received_total{{job="dapr-control-plane"}}{RATE}))',
                  "requests"),
                q(f'sum(rate(dapr_sentry_cert_sign_failure_total{{job="dapr-control-plane"}}{RATE}))', "failures")),
                "short"),
            Panel("Sidecar memory by pod", (q(
                f'sum by (pod) (container_memory_working_set_bytes{{{NS},container="daprd"}})', "{{pod}}"),),
                "bytes"),
            Panel("Placement: connected runtimes",
                  (q('max(dapr_placement_runtimes_total{job="dapr-control-plane"})'),), "short"),
        ),
    )


def all_dashboards() -> list[Dashboard]:
    return [application_overview(), kafka(), kubernetes(), dapr()]


# The dashboards' one variable: the namespace, from the label of a metric every target has.
NAMESPACE_VARIABLE_METRIC = "up"
NAMESPACE_VARIABLE = f"label_values({NAMESPACE_VARIABLE_METRIC}, namespace)"


def _panel_json(panel: Panel, pid: int, x: int, y: int, dsid: dict[str, str]) -> dict[str, Any]:
    ds = {"type": dsid["type"], "uid": dsid["uid"]}
    height = 4 if panel.kind == "stat" else 9
    out: dict[str, Any] = {
        "id": pid,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": ds,
        "gridPos": {"h": height, "w": panel.width, "x": x, "y": y},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": ds, "expr": query.expr, "legendFormat": query.legend}
            for i, query in enumerate(panel.queries)
        ],
    }
    if panel.kind == "logs":
        out["options"] = {"showTime": True, "wrapLogMessage": True, "enableLogDetails": True}
    else:
        out["fieldConfig"] = {"defaults": {"unit": panel.unit}, "overrides": []}
    return out


def check(dashboard: Dashboard, recorded: Iterable[str]) -> None:
    """Raise ObservabilityError naming the dashboard and panel for an unknown data source, invalid PromQL or
    a metric no scrape target collects."""
    known = datasources()
    extra = frozenset(recorded)
    promql.check_metrics(NAMESPACE_VARIABLE_METRIC, f"dashboard {dashboard.title}: variable namespace")
    for panel in dashboard.panels:
        where = f"dashboard {dashboard.title}: panel {panel.title!r}"
        if panel.datasource not in known:
            raise ObservabilityError(f"{where}: unknown data source {panel.datasource!r}; provisioned: "
                                     f"{sorted(known)} (kube-prometheus-stack.grafana in the umbrella values)")
        if panel.kind not in ("timeseries", "stat", "logs"):
            raise ObservabilityError(f"{where}: unknown panel type {panel.kind!r}")
        if known[panel.datasource] == "prometheus":
            for query in panel.queries:
                promql.check_metrics(promql.substitute_grafana_variables(query.expr), where, extra)


def build(dashboard: Dashboard, recorded: Iterable[str], description: str) -> dict[str, Any]:
    """The dashboard's Grafana JSON model (checked first)."""
    check(dashboard, recorded)
    known = datasources()
    panels: list[dict[str, Any]] = []
    x = y = row_height = 0
    for pid, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel_json(panel, pid, x, y, {"type": known[panel.datasource], "uid": panel.datasource}))
        row_height = max(row_height, panels[-1]["gridPos"]["h"])
        x += panel.width
    prometheus_uid = next(uid for uid, kind in known.items() if kind == "prometheus")
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": f"{dashboard.description} ({description})",
        "tags": list(dashboard.tags),
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "templating": {"list": [{
            "name": "namespace",
            "label": "Namespace",
            "type": "query",
            "datasource": {"type": "prometheus", "uid": prometheus_uid},
            "query": {"query": NAMESPACE_VARIABLE, "refId": "namespace"},
            "definition": NAMESPACE_VARIABLE,
            "current": {"text": "todo-chatbot", "value": "todo-chatbot"},
            "refresh": 2,
            "includeAll": False,
        }]},
        "panels": panels,
    }
