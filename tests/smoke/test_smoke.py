"""Smoke tests of a running environment (`make smoke ENV=...`): is the deployed platform alive end to end?"""

from __future__ import annotations

import base64
import uuid

import pytest
from smoke_support import Target, eventually

# Our app's components (Deployments todo-chatbot-<name>, each with a Dapr sidecar).
APP = ("backend", "frontend")
TOPIC = "todo-events"
PUBSUB = "pubsub"
DAPR_HTTP_PORT = 3500


def _secret_value(target: Target, name: str, key: str) -> str:
    data = target.core().read_namespaced_secret(name, target.env.namespace).data or {}
    return base64.b64decode(data[key]).decode()


def _app_pods(target: Target, component: str) -> list:
    return target.core().list_namespaced_pod(
        target.env.namespace, label_selector=f"app.kubernetes.io/name={component},"
                                             f"app.kubernetes.io/instance={target.env.release}").items


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


@pytest.mark.parametrize("component", APP)
def test_every_app_pod_runs_a_dapr_sidecar(target: Target, component: str) -> None:
    target.require_real()
    pods = _app_pods(target, component)
    assert pods, f"no {component} pods"
    missing = [p.metadata.name for p in pods if "daprd" not in {c.name for c in p.spec.containers}]
    assert not missing, f"pods without daprd: {missing}"


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


def test_an_event_published_through_dapr_lands_on_todo_events(target: Target) -> None:
    """Publish through the backend's daprd (HTTP API, with the app's API token) and read it back from the
    topic with Kafka's console consumer inside a broker pod."""
    target.require_real()
    from kubernetes.stream import stream

    pod = _app_pods(target, "backend")[0].metadata.name
    token = _secret_value(target, "todo-chatbot-dapr-api-token", "token")
    marker = f"smoke-{uuid.uuid4()}"
    target.api.call_api(
        f"/api/v1/namespaces/{target.env.namespace}/pods/{pod}:{DAPR_HTTP_PORT}/proxy/v1.0/publish/{PUBSUB}/{TOPIC}",
        "POST", header_params={"Content-Type": "application/json", "dapr-api-token": token},
        body={"smoke": marker}, auth_settings=["BearerToken"], _preload_content=False)
    brokers = target.core().list_namespaced_pod(target.env.namespace,
                                                label_selector="strimzi.io/broker-role=true").items
    assert brokers, "no Kafka broker pods"

    def consumed() -> bool:
        out = stream(target.core().connect_get_namespaced_pod_exec, brokers[0].metadata.name, target.env.namespace,
                     command=["bin/kafka-console-consumer.sh", "--bootstrap-server", "localhost:9092", "--topic",
                              TOPIC, "--from-beginning", "--timeout-ms", "15000"],
                     stderr=True, stdin=False, stdout=True, tty=False)
        return marker in out

    assert eventually(consumed, timeout=60), f"{marker} not found on {TOPIC}"


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
    assert len(found) >= 1, found


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
