"""`helm test` hooks: health through the Services, and the backend through Dapr service invocation."""

from __future__ import annotations

import pytest

from tests.charts.app.support import name, render_app
from todo_cloud.render import Manifest, find, get

TEST_JOBS = ("todo-chatbot-test-health", "todo-chatbot-test-dapr")


def pod(docs: list[Manifest], job: str) -> dict:
    """The pod template of a test Job."""
    return get(docs, "Job", job)["spec"]["template"]


@pytest.mark.parametrize("job", TEST_JOBS)
def test_test_jobs_are_helm_test_hooks_run_once(app: list[Manifest], job: str) -> None:
    doc = get(app, "Job", job)
    assert doc["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert doc["spec"]["backoffLimit"] == 0
    assert doc["spec"]["activeDeadlineSeconds"] > 0
    # a pod lost to a node drain is replaced, not counted as a failed test
    assert doc["spec"]["podFailurePolicy"]["rules"] == [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]
    assert doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == job


@pytest.mark.parametrize("job", TEST_JOBS)
def test_test_pods_are_restricted(app: list[Manifest], job: str) -> None:
    spec = pod(app, job)["spec"]
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
    args = pod(app, "todo-chatbot-test-health")["spec"]["containers"][0]["args"]
    assert args[1:] == [f"http://{name('analytics')}:8000/health", f"http://{name('backend')}:8000/health",
                        f"http://{name('frontend')}:3000/api/health"]


def test_dapr_pod_invokes_the_backend_through_its_sidecar(app: list[Manifest]) -> None:
    template = pod(app, "todo-chatbot-test-dapr")
    annotations = template["metadata"]["annotations"]
    assert annotations["dapr.io/enabled"] == "true"
    assert annotations["dapr.io/sidecar-seccomp-profile-type"] == "RuntimeDefault"
    assert "dapr.io/app-port" not in annotations
    container = template["spec"]["containers"][0]
    script = container["args"][0]
    assert "/invoke/backend/method/health" in script
    assert '"/shutdown", "POST"' in script  # the sidecar stops, so the pod completes
    token_file = "/var/run/secrets/todo-chatbot/DAPR_API_TOKEN"
    assert container["env"] == [{"name": "DAPR_API_TOKEN_FILE", "value": token_file}]
    volume = template["spec"]["volumes"][0]["projected"]["sources"]
    assert volume == [{"secret": {"name": "todo-chatbot-dapr-api-token", "items": [
        {"key": "token", "path": "DAPR_API_TOKEN"}]}}]


def test_test_pods_can_be_switched_off() -> None:
    docs = render_app("local", {"tests": {"enabled": False}})
    assert not find(docs, "Job")
    assert not find(docs, "NetworkPolicy", "todo-chatbot-test-health")
