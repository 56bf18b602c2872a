"""Dapr sidecar annotations: one helper, the same complete set on every app pod."""

from __future__ import annotations

import pytest

from tests.charts.app.support import CONSUMERS, DEFAULT_COMPONENTS, name, pod_spec, render_app
from todo_cloud.render import Manifest, get

PORTS = {"frontend": 3000, "backend": 8000, "analytics": 8000}


def annotations(docs: list[Manifest], component: str) -> dict[str, str]:
    return get(docs, "Deployment", name(component))["spec"]["template"]["metadata"]["annotations"]


@pytest.mark.parametrize("component", DEFAULT_COMPONENTS)
def test_sidecar_annotations_are_complete(app: list[Manifest], component: str) -> None:
    a = annotations(app, component)
    assert a["dapr.io/enabled"] == "true"
    assert a["dapr.io/app-id"] == component
    assert a["dapr.io/app-port"] == str(PORTS[component])
    assert a["dapr.io/app-protocol"] == "http"
    assert a["dapr.io/config"] == "todo-chatbot-dapr-config"
    assert a["dapr.io/log-level"] in {"debug", "info", "warn", "error"}
    assert a["dapr.io/enable-metrics"] == "true" and a["dapr.io/metrics-port"] == "9090"
    for key in ("cpu-request", "memory-request", "cpu-limit", "memory-limit"):
        assert a[f"dapr.io/sidecar-{key}"], key
    assert a["dapr.io/env"].startswith("GOMEMLIMIT=")
    assert a["dapr.io/api-token-secret"] == "todo-chatbot-dapr-api-token"
    # without it Pod Security Admission "restricted" rejects the injected sidecar
    assert a["dapr.io/sidecar-seccomp-profile-type"] == "RuntimeDefault"


@pytest.mark.parametrize("component", DEFAULT_COMPONENTS)
def test_sidecar_shuts_down_before_the_pod_is_killed(app: list[Manifest], component: str) -> None:
    graceful = int(annotations(app, component)["dapr.io/graceful-shutdown-seconds"])
    grace = get(app, "Deployment", name(component))["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert 0 < graceful < grace


@pytest.mark.parametrize("component", CONSUMERS)
def test_consumer_app_id_is_its_component_key(all_components: list[Manifest], component: str) -> None:
    assert annotations(all_components, component)["dapr.io/app-id"] == component


def test_app_without_sidecar_gets_no_dapr_annotations_and_no_token() -> None:
    docs = render_app("local", {"components": {"frontend": {"dapr": {"enabled": False}}}})
    assert not [k for k in annotations(docs, "frontend") if k.startswith("dapr.io/")]
    assert "DAPR_API_TOKEN_FILE" not in get(docs, "ConfigMap", name("frontend"))["data"]
    volume = {v["name"]: v for v in pod_spec(docs, "frontend")["volumes"]}["secrets"]["projected"]
    assert [s["secret"]["name"] for s in volume["sources"]] == ["todo-chatbot-auth"]
