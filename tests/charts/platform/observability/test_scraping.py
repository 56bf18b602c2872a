"""Scraping: one monitor per target of the metrics catalogue, carrying the label this release's Prometheus
selects by, setting `job` to the catalogue's key, and selecting the pods or Services it is meant to."""

from __future__ import annotations

import pytest

from todo_cloud import deps
from todo_cloud.observability import promql
from todo_cloud.render import (
    Manifest,
    RenderError,
    find,
    get,
    lookup,
    render_environment,
    render_subchart,
    subchart_values,
)

CATALOGUE = promql.catalogue()
OURS = sorted(j for j, t in CATALOGUE.targets.items() if t.chart == "platform")
MONITOR_KINDS = ("ServiceMonitor", "PodMonitor")


@pytest.fixture(scope="module")
def platform() -> list[Manifest]:
    return render_subchart("platform", "production")


def endpoints(monitor: Manifest) -> list[dict]:
    return monitor["spec"].get("endpoints") or monitor["spec"]["podMetricsEndpoints"]


@pytest.mark.parametrize("job", OURS)
def test_platform_renders_the_catalogue_monitor_of_each_target(platform: list[Manifest], job: str) -> None:
    target = CATALOGUE.targets[job]
    monitor = get(platform, target.monitor_kind, target.monitor_name)
    assert monitor["metadata"]["labels"]["release"] == "todo-chatbot"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["todo-chatbot"]}
    for endpoint in endpoints(monitor):
        job_relabel = [r for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
        assert job_relabel == [{"action": "replace", "targetLabel": "job", "replacement": job}]


def test_platform_renders_no_monitor_outside_the_catalogue(platform: list[Manifest]) -> None:
    rendered = {(d["kind"], d["metadata"]["name"]) for d in platform if d["kind"] in MONITOR_KINDS}
    assert rendered == {(CATALOGUE.targets[j].monitor_kind, CATALOGUE.targets[j].monitor_name) for j in OURS}


def test_dapr_sidecars_are_scraped_on_their_metrics_port(platform: list[Manifest]) -> None:
    monitor = get(platform, "PodMonitor", "todo-chatbot-dapr-sidecars")
    assert monitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/part-of": "todo-chatbot"}}
    assert [e["port"] for e in endpoints(monitor)] == ["dapr-metrics"]


def test_kafka_nodes_and_exporter_are_selected_by_their_strimzi_labels(platform: list[Manifest]) -> None:
    brokers = get(platform, "PodMonitor", "todo-chatbot-kafka-brokers")["spec"]
    assert brokers["selector"]["matchLabels"] == {"strimzi.io/cluster": "todo-chatbot-kafka",
                                                  "strimzi.io/kind": "Kafka"}
    exporter = get(platform, "PodMonitor", "todo-chatbot-kafka-exporter")["spec"]
    assert exporter["selector"]["matchLabels"]["strimzi.io/name"] == "todo-chatbot-kafka-kafka-exporter"
    kafka = get(platform, "Kafka", "todo-chatbot-kafka")["spec"]
    assert kafka["kafka"]["metricsConfig"]["type"] == "jmxPrometheusExporter"
    assert "kafkaExporter" in kafka


@pytest.mark.parametrize("job", ["backend", "frontend", "loki", "velero"])
def test_a_disabled_target_is_not_scraped(job: str) -> None:
    docs = render_subchart("platform", "production", {"monitoring": {"targets": {job: {"enabled": False}}}})
    target = CATALOGUE.targets[job]
    assert not find(docs, target.monitor_kind, target.monitor_name)


@pytest.mark.parametrize("values,key", [
    ({"interval": "30 seconds"}, "monitoring/interval"),
    ({"targets": {"backend": {"enabled": True, "path": "metrics"}}}, "monitoring/targets/backend/path"),
    ({"targets": {"mysql": {"enabled": True}}}, "monitoring/targets"),
    ({"kafkaCluster": ""}, "monitoring/kafkaCluster"),
])
def test_bad_monitoring_values_fail_naming_the_key(values: dict, key: str) -> None:
    with pytest.raises(RenderError, match=key):
        render_subchart("platform", "production", {"monitoring": values})


# --- in the whole release -----------------------------------------------------------------------------

def labels_match(selector: dict, labels: dict) -> bool:
    ok = all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())
    for expr in selector.get("matchExpressions") or []:
        value = labels.get(expr["key"])
        ok &= {"In": value in expr.get("values", []), "NotIn": value not in expr.get("values", []),
               "Exists": expr["key"] in labels, "DoesNotExist": expr["key"] not in labels}[expr["operator"]]
    return ok


@pytest.mark.parametrize("job", sorted(CATALOGUE.targets))
def test_every_catalogue_target_has_its_monitor_in_the_release(release: list[Manifest], env_name: str,
                                                               job: str) -> None:
    """... where its part of the platform chart is on (the `backup` part only where Velero runs)."""
    target = CATALOGUE.targets[job]
    if target.part and not lookup(subchart_values("platform", env_name), [target.part, "enabled"]):
        assert not find(release, target.monitor_kind, target.monitor_name)
    else:
        assert get(release, target.monitor_kind, target.monitor_name)


@pytest.mark.parametrize("kind,selector", [("ServiceMonitor", "serviceMonitorSelector"),
                                           ("PodMonitor", "podMonitorSelector"), ("PrometheusRule", "ruleSelector")])
def test_prometheus_selects_every_monitor_and_rule_of_the_release(release: list[Manifest], kind: str,
                                                                   selector: str) -> None:
    spec = get(release, "Prometheus", "todo-chatbot-kube-promethe-prometheus")["spec"]
    objects = find(release, kind)
    assert objects
    unselected = [o["metadata"]["name"] for o in objects if not labels_match(spec[selector], o["metadata"]["labels"])]
    assert unselected == []


def test_generated_rules_ship_as_prometheus_rules(release: list[Manifest]) -> None:
    names = {d["metadata"]["name"] for d in find(release, "PrometheusRule")}
    assert {f"todo-chatbot-{g}" for g in ("slo", "app", "kafka", "dapr", "platform")} <= names


@pytest.mark.parametrize("monitor,service,port", [
    ("todo-chatbot-backend", "todo-chatbot-backend", "http"),
    ("todo-chatbot-frontend", "todo-chatbot-frontend", "http"),
    ("todo-chatbot-loki", "todo-chatbot-loki", "http-metrics"),
    ("todo-chatbot-jaeger", "todo-chatbot-jaeger", "internal-metrics"),
])
def test_service_monitor_selects_exactly_its_service_and_port(release: list[Manifest], monitor: str, service: str,
                                                              port: str) -> None:
    spec = get(release, "ServiceMonitor", monitor)["spec"]
    selected = [s["metadata"]["name"] for s in find(release, "Service")
                if labels_match(spec["selector"], s["metadata"].get("labels") or {})]
    assert selected == [service]
    assert port in {p["name"] for p in get(release, "Service", service)["spec"]["ports"]}
    assert [e["port"] for e in spec["endpoints"]] == [port]


def pod_templates(release: list[Manifest]) -> list[tuple[str, dict]]:
    return [(d["metadata"]["name"], d["spec"]["template"]) for kind in ("Deployment", "StatefulSet", "DaemonSet")
            for d in find(release, kind)]


def test_dapr_control_plane_pods_expose_the_scraped_port(release: list[Manifest]) -> None:
    spec = get(release, "PodMonitor", "todo-chatbot-dapr-control-plane")["spec"]
    selected = [(n, t) for n, t in pod_templates(release) if labels_match(spec["selector"], t["metadata"]["labels"])]
    assert {n for n, _ in selected} >= {"dapr-operator", "dapr-sentry", "dapr-sidecar-injector",
                                        "dapr-placement-server"}
    for name, template in selected:
        ports = {p.get("name") for c in template["spec"]["containers"] for p in c.get("ports", [])}
        assert "metrics" in ports, name


def test_the_strimzi_cluster_operator_is_scraped_on_its_http_port(release: list[Manifest]) -> None:
    spec = get(release, "PodMonitor", "todo-chatbot-strimzi-operators")["spec"]
    template = next(t for n, t in pod_templates(release) if n == "strimzi-cluster-operator")
    assert labels_match(spec["selector"], template["metadata"]["labels"])
    ports = {p.get("name") for c in template["spec"]["containers"] for p in c.get("ports", [])}
    assert "http" in ports and "http" in [e["port"] for e in spec["podMetricsEndpoints"]]


def test_every_observability_workload_has_a_network_policy(release: list[Manifest]) -> None:
    policies = [p for p in find(release, "NetworkPolicy") if p["metadata"]["name"].startswith("observability-")]
    stack = ("grafana", "kube-state-metrics", "kube-promethe-operator", "loki", "jaeger")
    for name, template in pod_templates(release):
        if not any(s in name for s in stack):
            continue
        assert any(labels_match(p["spec"]["podSelector"], template["metadata"]["labels"]) for p in policies), name
    # Prometheus and Alertmanager pods are created by the operator with these labels
    for workload in ("prometheus", "alertmanager"):
        assert any(labels_match(p["spec"]["podSelector"], {"app.kubernetes.io/name": workload}) for p in policies)


def test_disabling_monitoring_leaves_no_monitor_rule_or_dashboard(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    docs = render_environment("local", {"platform": {"monitoring": {"enabled": False}}})
    ours = [d for d in docs if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "monitoring"
            and d["metadata"].get("labels", {}).get("helm.sh/chart", "").startswith("platform-")]
    assert ours == []
