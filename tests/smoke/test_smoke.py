"""Smoke tests of a running environment (`make smoke ENV=...`): is the deployed platform alive end to end?"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.smoke.support import Target, eventually
from todo_cloud import eventflow
from todo_cloud.manifests import dapr_app_id
from todo_cloud.paths import CHARTS

# The custom resources the event flow is derived from, as deployed: (group, version, plural).
KAFKA_RESOURCES = [("kafka.strimzi.io", "v1", plural) for plural in ("kafkas", "kafkanodepools", "kafkausers",
                                                                     "kafkatopics")]
DAPR_RESOURCES = [("dapr.io", "v1alpha1", "components"), ("dapr.io", "v2alpha1", "subscriptions")]


def _secret_value(target: Target, name: str, key: str) -> str:
    return target.secret_data(name)[key]


def _app_selector(target: Target, component: str) -> str:
    return f"app.kubernetes.io/name={component},app.kubernetes.io/instance={target.env.release}"


def test_all_deployments_and_statefulsets_are_ready(target: Target) -> None:
    apps = target.apps()
    lagging = []
    for ns in {target.env.namespace, f"{target.env.namespace}-node"}:
        for d in apps.list_namespaced_deployment(ns).items + apps.list_namespaced_stateful_set(ns).items:
            want = d.spec.replicas if d.spec.replicas is not None else 1
            if (d.status.ready_replicas or 0) < want:
                lagging.append(f"{d.kind or type(d).__name__} {ns}/{d.metadata.name}: "
                               f"{d.status.ready_replicas or 0}/{want} ready")
    assert not lagging, lagging


def test_every_pod_of_a_dapr_app_runs_a_dapr_sidecar(target: Target) -> None:
    """Every Deployment whose pods ask for Dapr (dapr.io/enabled) got the injected daprd in each pod; the
    event flow's publisher and consumer are among them."""
    target.require_real()
    apps: dict[str, Any] = {}
    for deployment in target.apps().list_namespaced_deployment(target.env.namespace).items:
        app_id = dapr_app_id(target.api.sanitize_for_serialization(deployment))
        if app_id is not None:
            apps[app_id] = deployment
    assert {eventflow.PUBLISHER, eventflow.CONSUMER} <= set(apps), f"Dapr apps deployed: {sorted(apps)}"
    for app_id, deployment in sorted(apps.items()):
        selector = ",".join(f"{k}={v}" for k, v in sorted(deployment.spec.selector.match_labels.items()))
        pods = target.core().list_namespaced_pod(target.env.namespace, label_selector=selector).items
        assert pods, f"no pods of Deployment {deployment.metadata.name} (app {app_id})"
        missing = [p.metadata.name for p in pods if "daprd" not in {c.name for c in p.spec.containers}]
        assert not missing, f"pods of Deployment {deployment.metadata.name} without daprd: {missing}"


def test_kafka_and_its_topics_are_ready(target: Target) -> None:
    target.require_real()
    custom = target.custom()
    objs = []
    for plural in ("kafkas", "kafkatopics"):
        objs += custom.list_namespaced_custom_object("kafka.strimzi.io", "v1", target.env.namespace, plural)["items"]
    not_ready = [f"{o['kind']}/{o['metadata']['name']}" for o in objs
                 if not any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in (o.get("status") or {}).get("conditions", []))]
    assert objs and not not_ready, f"not Ready: {not_ready}"


def test_an_event_the_backend_publishes_through_its_sidecar_lands_on_todo_events_and_analytics_counts_it(
        target: Target) -> None:
    """The backend creates a todo, so its daprd publishes TaskCreated onto todo-events; Kafka's console tools in a
    broker pod read the record back, authenticating as the platform requires (SCRAM-SHA-512 as the KafkaUser
    that may read the topic, over the listener the Dapr pub/sub Component dials, TLS with the cluster CA where
    that listener is TLS, credentials from the Secrets Strimzi writes); the analytics consumer processes and
    counts the event (todo_cloud.eventflow)."""
    target.require_real()
    objects = target.objects(*KAFKA_RESOURCES, *DAPR_RESOURCES)
    reader = eventflow.reader(objects, namespace=target.env.namespace)
    eventflow.check_subscribed(objects)
    settings = reader.settings({name: target.secret_data(name) for name in reader.secrets})
    brokers = target.running_pods(f"strimzi.io/cluster={reader.plan.cluster},strimzi.io/broker-role=true")
    publishers = target.running_pods(_app_selector(target, eventflow.PUBLISHER))
    consumers = target.running_pods(_app_selector(target, eventflow.CONSUMER))
    assert brokers and publishers and consumers, f"running pods: brokers {brokers}, {eventflow.PUBLISHER} " \
                                                 f"{publishers}, {eventflow.CONSUMER} {consumers}"
    pods = eventflow.Pods(brokers[0], publishers[0], tuple(consumers))
    flow = eventflow.run_flow(target.exec, pods, settings, f"smoke-{uuid.uuid4()}")

    event = flow.record.json()
    assert flow.record.key == flow.todo_id, "keyed by the todo id, so that one todo's events keep their order"
    assert (event["specversion"], event["source"], event["type"], event["subject"]) == (
        "1.0", eventflow.PUBLISHER, eventflow.EVENT_TYPE, flow.todo_id)
    assert event["data"]["id"] == flow.todo_id and event["data"]["version"] == 1
    assert [d["topic"] for d in flow.deliveries if d["status"] == "SUCCESS"] == [eventflow.TOPIC]
    assert flow.counted("by_type", eventflow.EVENT_TYPE) >= 1, (flow.counts_before, flow.counts_after)
    assert flow.counted("by_topic", eventflow.TOPIC) >= 1, (flow.counts_before, flow.counts_after)


@pytest.mark.parametrize("job", ["todo-chatbot-backend", "todo-chatbot-dapr-sidecars", "todo-chatbot-kafka-brokers"])
def test_prometheus_scrapes_app_dapr_and_kafka(target: Target, job: str) -> None:
    target.require_real()

    def up() -> list[str]:
        targets = target.service_get("todo-chatbot-kube-promethe-prometheus", 9090, "/api/v1/targets")
        return [t["health"] for t in targets["data"]["activeTargets"] if f"/{job}/" in t["scrapePool"]]

    health = eventually(lambda: (h := up()) and all(x == "up" for x in h) and h, timeout=120)
    assert health and all(h == "up" for h in health), f"targets of {job}: {up()}"


def test_grafana_lists_the_dashboards(target: Target) -> None:
    target.require_real()
    user = _secret_value(target, "todo-chatbot-grafana", "admin-user")
    password = _secret_value(target, "todo-chatbot-grafana", "admin-password")
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    found = target.service_get("todo-chatbot-grafana", 80, "/api/search?type=dash-db",
                               headers={"X-Grafana-Authorization": f"Basic {auth}"})
    wanted = {json.loads(p.read_text())["title"] for p in (CHARTS / "platform" / "dashboards").glob("*.json")}
    assert wanted <= {board["title"] for board in found}, found


def test_loki_returns_app_logs(target: Target) -> None:
    target.require_real()
    def lines() -> int:
        got = target.service_get("todo-chatbot-loki", 3100,
                                 f"/loki/api/v1/query_range?query=%7Bnamespace%3D%22{target.env.namespace}%22%2C"
                                 "app%3D~%22backend%7Cfrontend%22%7D&limit=10&since=1h")
        return sum(len(s["values"]) for s in got["data"]["result"])

    assert eventually(lines, timeout=120), "Loki has no logs of the app"


def test_jaeger_returns_a_trace(target: Target) -> None:
    target.require_real()

    def traces() -> int:
        services = target.service_get("todo-chatbot-jaeger", 16686, "/api/services")["data"] or []
        app = [s for s in services if "backend" in s or "frontend" in s]
        return sum(len(target.service_get("todo-chatbot-jaeger", 16686,
                                          f"/api/traces?service={s}&limit=1&lookback=1h")["data"] or [])
                   for s in app)

    assert eventually(traces, timeout=120), "Jaeger has no trace of the app"
