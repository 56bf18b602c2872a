"""What the app chart installs, as (kind, name), per environment; and with the workloads switched off
(the first phase of a fresh install)."""

from __future__ import annotations

from tests.charts.app.support import DEFAULT_COMPONENTS, render_app
from todo_cloud.render import Manifest, find

PER_COMPONENT = {"ConfigMap", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"}
COMMON = {
    ("Gateway", "todo-chatbot-public"),
    ("HTTPRoute", "todo-chatbot-frontend"),
    ("NetworkPolicy", "todo-chatbot-default-deny"),
    ("NetworkPolicy", "todo-chatbot-test-health"),
    ("NetworkPolicy", "todo-chatbot-test-dapr"),
    ("Job", "todo-chatbot-test-health"),
    ("Job", "todo-chatbot-test-dapr"),
}
TLS = {
    ("HTTPRoute", "todo-chatbot-https-redirect"),
    ("Certificate", "todo-chatbot-public"),
    ("NetworkPolicy", "todo-chatbot-acme-http01-solver"),
}


def expected(env: str) -> set[tuple[str, str]]:
    objects = set(COMMON)
    for component in DEFAULT_COMPONENTS:
        objects |= {(kind, f"todo-chatbot-{component}") for kind in PER_COMPONENT}
        if env != "local":
            objects |= {(kind, f"todo-chatbot-{component}") for kind in ("HorizontalPodAutoscaler",
                                                                          "PodDisruptionBudget")}
    if env != "local":
        objects |= TLS | {("ClusterIssuer", f"todo-chatbot-letsencrypt-{env}")}
    return objects


def inventory(docs: list[Manifest]) -> set[tuple[str, str]]:
    return {(d["kind"], d["metadata"]["name"]) for d in docs}


def test_inventory_of_the_environment(app: list[Manifest], env_name: str) -> None:
    assert inventory(app) == expected(env_name)


def test_every_object_carries_the_part_of_label(app: list[Manifest]) -> None:
    for doc in app:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "todo-chatbot", doc["metadata"]["name"]


def test_workloads_off_leaves_services_config_and_policies_only() -> None:
    docs = render_app("production", {"global": {"workloads": {"enabled": False}}})
    workload_kinds = {"Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"}
    for kind in workload_kinds:
        assert not find(docs, kind), kind
    assert inventory(docs) == {o for o in expected("production") if o[0] not in workload_kinds}
