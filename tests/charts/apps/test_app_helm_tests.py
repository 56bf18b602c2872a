"""`helm test` hooks: health through the Services, and the backend through Dapr service invocation."""

from __future__ import annotations

import pytest
from app_chart import name, render_app

from todo_cloud.render import Manifest, find, get

TEST_PODS = ("todo-chatbot-test-health", "todo-chatbot-test-dapr")


@pytest.mark.parametrize("pod", TEST_PODS)
def test_test_pods_are_helm_test_hooks_and_restricted(app: list[Manifest], pod: str) -> None:
    doc = get(app, "Pod", pod)
    assert doc["metadata"]["annotations"]["helm.sh/hook"] == "test"
    spec = doc["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    container = spec["containers"][0]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    backend_image = get(app, "Deployment", name("backend"))["spec"]["template"]["spec"]["containers"][0]["image"]
    assert container["image"] == backend_image


def test_health_pod_checks_every_component_through_its_service(app: list[Manifest]) -> None:
    args = get(app, "Pod", "todo-chatbot-test-health")["spec"]["containers"][0]["args"]
    assert args[1:] == [f"http://{name('backend')}:8000/health", f"http://{name('frontend')}:3000/api/health"]


def test_dapr_pod_invokes_the_backend_through_its_sidecar(app: list[Manifest]) -> None:
    pod = get(app, "Pod", "todo-chatbot-test-dapr")
    annotations = pod["metadata"]["annotations"]
    assert annotations["dapr.io/enabled"] == "true"
    assert annotations["dapr.io/sidecar-seccomp-profile-type"] == "RuntimeDefault"
    assert "dapr.io/app-port" not in annotations
    script = pod["spec"]["containers"][0]["args"][0]
    assert "/invoke/backend/method/health" in script
    assert '"/shutdown", "POST"' in script  # the sidecar stops, so the pod completes
    env = pod["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"]["name"] == "todo-chatbot-dapr-api-token"


def test_test_pods_can_be_switched_off() -> None:
    docs = render_app("local", {"tests": {"enabled": False}})
    assert not find(docs, "Pod")
    assert not find(docs, "NetworkPolicy", "todo-chatbot-test-health")
