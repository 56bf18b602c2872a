"""The frontend stand-in, a real process, calling the real backend through service invocation.

Its sidecar is the recording stand-in of tests.workloads.support (not daprd): it records the invocation request
and forwards it to the running backend, as daprd's invocation would (the runtime suite runs the real one).
The backend's app id comes from charts/app/values.yaml (the frontend's `calls`), the metrics from
config/observability/metrics.yaml (target `frontend`).
"""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

from tests.workloads.support import FakeSidecar, Service
from todo_cloud import yamlfile
from todo_cloud.observability import promql
from todo_cloud.paths import CHARTS

APP = yamlfile.load(CHARTS / "app" / "values.yaml")
[BACKEND_APP_ID] = APP["components"]["frontend"]["calls"]


def test_the_page_lists_the_backends_todos_through_service_invocation(
        frontend_service: Service, frontend_sidecar: FakeSidecar, backend: Service, api_token: str) -> None:
    title = f"<b>page {uuid.uuid4().hex[:8]}</b>"
    with backend.client() as client:
        assert client.post("/api/todos", json={"title": title}).status_code == 201
    with frontend_service.client() as client:
        page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "&lt;b&gt;page" in page.text and title not in page.text
    [call] = frontend_sidecar.requests
    assert (call.method, call.path) == ("GET", f"/v1.0/invoke/{BACKEND_APP_ID}/method/api/todos")
    assert call.headers["dapr-api-token"] == api_token


def test_todos_created_through_the_frontend_reach_the_backend_and_its_events(
        frontend_service: Service, frontend_sidecar: FakeSidecar, backend: Service,
        backend_sidecar: FakeSidecar) -> None:
    with frontend_service.client() as client:
        created = client.post("/api/todos", json={"title": "via frontend", "user_id": "jo"})
        listed = client.get("/api/todos")
    assert created.status_code == 201
    assert created.json()["id"] in {t["id"] for t in listed.json()}
    assert [(r.method, r.path) for r in frontend_sidecar.requests] == [
        ("POST", f"/v1.0/invoke/{BACKEND_APP_ID}/method/api/todos"),
        ("GET", f"/v1.0/invoke/{BACKEND_APP_ID}/method/api/todos")]
    [publish] = backend_sidecar.published()
    assert publish.json()["data"]["id"] == created.json()["id"]


def test_the_page_answers_502_when_the_invocation_fails(frontend_service: Service,
                                                        frontend_sidecar: FakeSidecar) -> None:
    frontend_sidecar.apps = {}
    with frontend_service.client() as client:
        page = client.get("/")
    assert page.status_code == 502
    assert "The backend answered 500" in page.text


def test_health_and_the_process_metrics_the_catalogue_lists_are_served(frontend_service: Service) -> None:
    with frontend_service.client() as client:
        assert client.get("/api/health").json() == {"status": "ok"}
        exposition = client.get("/api/metrics").text
    exposed = {s.name for f in text_string_to_metric_families(exposition) for s in f.samples}
    catalogue = promql.catalogue().targets["frontend"].metrics
    # Node.js's own series (event loop, heap) exist only in the real Next.js frontend.
    assert {m for m in catalogue if not m.startswith("nodejs_")} - exposed == set()
