"""The reference backend, a real process on a real PostgreSQL: what it stores and what it asks its sidecar.

The sidecar is the recording stand-in of tests.workloads.support (not daprd: the runtime suite runs the real one);
the tests assert on the exact Dapr HTTP API requests. Names of the pub/sub component, topics and state store
come from charts/platform/values.yaml, so the backend's defaults cannot drift from what the platform renders.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.workloads.support import SERVICES, FakeSidecar, Service, service_env
from todo_cloud import yamlfile
from todo_cloud.paths import CHARTS
from todo_cloud.processes import Supervisor
from todo_cloud.runtime import postgres

PLATFORM = yamlfile.load(CHARTS / "platform" / "values.yaml")
PUBSUB = PLATFORM["dapr"]["pubsub"]["name"]
STATESTORE = PLATFORM["dapr"]["statestore"]["name"]
BACKEND_TOPICS = PLATFORM["dapr"]["apps"]["backend"]["publishes"]
TODO_TOPIC = "todo-events"
CHAT_TOPIC = "chat-events"


def rows(pg: postgres.Postgres, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(pg.databases["todo"].url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def event(rec: Any) -> dict[str, Any]:
    return rec.json()


def test_the_topics_the_backend_publishes_to_are_declared_for_it_in_the_platform() -> None:
    assert {TODO_TOPIC, CHAT_TOPIC} <= set(BACKEND_TOPICS)
    assert "backend" in PLATFORM["dapr"]["statestore"]["scopes"]


def test_creating_a_todo_stores_the_row_and_publishes_task_created_keyed_by_its_id(
        backend: Service, backend_sidecar: FakeSidecar, pg: postgres.Postgres, api_token: str) -> None:
    with backend.client() as client:
        resp = client.post("/api/todos", json={"title": "buy milk", "description": "2 l", "user_id": "ada"})
    assert resp.status_code == 201, resp.text
    todo = resp.json()
    [row] = rows(pg, "SELECT * FROM todos WHERE id = %s", todo["id"])
    assert (row["title"], row["description"], row["user_id"], row["completed"], row["version"]) == (
        "buy milk", "2 l", "ada", False, 1)
    [publish] = backend_sidecar.published()
    assert publish.path == f"/v1.0/publish/{PUBSUB}/{TODO_TOPIC}"
    assert publish.query == {"metadata.partitionKey": todo["id"]}
    assert publish.headers["dapr-api-token"] == api_token
    assert publish.headers["content-type"] == "application/cloudevents+json"
    ce = event(publish)
    assert {k: ce[k] for k in ("specversion", "type", "source", "subject", "partitionkey", "datacontenttype")} == {
        "specversion": "1.0", "type": "TaskCreated", "source": "backend", "subject": todo["id"],
        "partitionkey": todo["id"], "datacontenttype": "application/json"}
    assert ce["id"] and ce["time"]
    assert ce["data"] == todo


def test_one_todos_events_share_its_partition_key_and_carry_increasing_versions(
        backend: Service, backend_sidecar: FakeSidecar, pg: postgres.Postgres) -> None:
    with backend.client() as client:
        todo = client.post("/api/todos", json={"title": "write report", "user_id": "bob"}).json()
        assert client.patch(f"/api/todos/{todo['id']}", json={"title": "write the report"}).status_code == 200
        done = client.patch(f"/api/todos/{todo['id']}", json={"completed": True})
        assert done.json()["completed"] is True
        assert client.delete(f"/api/todos/{todo['id']}").status_code == 204
    published = backend_sidecar.published(TODO_TOPIC)
    assert [event(r)["type"] for r in published] == ["TaskCreated", "TaskUpdated", "TaskUpdated", "TaskDeleted"]
    assert {r.query["metadata.partitionKey"] for r in published} == {todo["id"]}
    assert [event(r)["data"]["version"] for r in published] == [1, 2, 3, 4]
    assert event(published[-1])["data"] == {"id": todo["id"], "user_id": "bob", "version": 4}
    assert rows(pg, "SELECT id FROM todos WHERE id = %s", todo["id"]) == []


def test_concurrent_updates_of_one_todo_are_published_in_commit_order(
        backend: Service, backend_sidecar: FakeSidecar) -> None:
    with backend.client() as client:
        todo = client.post("/api/todos", json={"title": "race", "user_id": "cy"}).json()
    statuses: list[int] = []

    def update(i: int) -> None:
        with httpx.Client(base_url=backend.url, timeout=30) as c:
            statuses.append(c.patch(f"/api/todos/{todo['id']}", json={"title": f"race {i}"}).status_code)

    threads = [threading.Thread(target=update, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 8
    versions = [event(r)["data"]["version"] for r in backend_sidecar.published(TODO_TOPIC)]
    assert versions == list(range(1, 10))


def test_a_failed_publish_rolls_the_change_back_and_answers_a_server_error(
        backend: Service, backend_sidecar: FakeSidecar, pg: postgres.Postgres) -> None:
    with backend.client() as client:
        todo = client.post("/api/todos", json={"title": "keep me", "user_id": "dee"}).json()
        backend_sidecar.publish_status = 500
        created = client.post("/api/todos", json={"title": "never stored", "user_id": "dee"})
        updated = client.patch(f"/api/todos/{todo['id']}", json={"title": "changed"})
        deleted = client.delete(f"/api/todos/{todo['id']}")
    assert (created.status_code, updated.status_code, deleted.status_code) == (502, 502, 502)
    assert "publish TaskCreated" in created.json()["detail"]
    assert rows(pg, "SELECT title, version FROM todos WHERE user_id = 'dee'") == [{"title": "keep me", "version": 1}]


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PATCH", {"completed": True}), ("DELETE", None)])
def test_an_unknown_todo_answers_404_and_publishes_nothing(backend: Service, backend_sidecar: FakeSidecar,
                                                           method: str, body: dict | None) -> None:
    with backend.client() as client:
        resp = client.request(method, "/api/todos/00000000-0000-4000-8000-000000000000", json=body)
    assert resp.status_code == 404
    assert backend_sidecar.published() == []


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("POST", "/api/todos", {"description": "no title"}, "title"),
    ("POST", "/api/todos", {"title": ""}, "title"),
    ("POST", "/api/todos", {"title": "x", "user_id": "has space"}, "user_id"),
    ("PATCH", "/api/todos/00000000-0000-4000-8000-000000000000", {}, "body"),
    ("GET", "/api/todos/not-a-uuid", None, "todo_id"),
    ("POST", "/api/chat", {"user_id": "eve"}, "content"),
])
def test_bad_input_answers_422_naming_the_field(backend: Service, backend_sidecar: FakeSidecar, method: str,
                                                path: str, body: dict | None, field: str) -> None:
    with backend.client() as client:
        resp = client.request(method, path, json=body)
    assert resp.status_code == 422
    assert any(field in [str(part) for part in err["loc"]] for err in resp.json()["detail"]), resp.json()
    assert backend_sidecar.published() == []


def test_listing_filters_by_user(backend: Service) -> None:
    with backend.client() as client:
        for title in ("one", "two"):
            client.post("/api/todos", json={"title": title, "user_id": "fay"})
        client.post("/api/todos", json={"title": "other", "user_id": "gus"})
        listed = client.get("/api/todos", params={"user_id": "fay"}).json()
    assert [t["title"] for t in listed] == ["one", "two"]


def test_a_chat_message_is_stored_and_published_as_message_sent_keyed_by_its_conversation(
        backend: Service, backend_sidecar: FakeSidecar, pg: postgres.Postgres) -> None:
    with backend.client() as client:
        resp = client.post("/api/chat", json={"user_id": "hal", "conversation_id": "conv-1", "content": "hello"})
    assert resp.status_code == 202
    message = resp.json()
    [row] = rows(pg, "SELECT conversation_id, user_id, role, content FROM messages WHERE id = %s", message["id"])
    assert row == {"conversation_id": "conv-1", "user_id": "hal", "role": "user", "content": "hello"}
    [publish] = backend_sidecar.published()
    assert publish.path == f"/v1.0/publish/{PUBSUB}/{CHAT_TOPIC}"
    assert publish.query == {"metadata.partitionKey": "conv-1"}
    ce = event(publish)
    assert (ce["type"], ce["subject"], ce["partitionkey"]) == ("MessageSent", "conv-1", "conv-1")
    assert ce["data"] == message


def test_preferences_round_trip_through_the_state_store(backend: Service, backend_sidecar: FakeSidecar,
                                                        api_token: str) -> None:
    with backend.client() as client:
        assert client.get("/api/users/ivy/preferences").status_code == 404
        assert client.put("/api/users/ivy/preferences", json={"theme": "dark"}).status_code == 200
        assert client.get("/api/users/ivy/preferences").json() == {"theme": "dark"}
    calls = [(r.method, r.path) for r in backend_sidecar.requests]
    assert calls == [("GET", f"/v1.0/state/{STATESTORE}/preferences-ivy"),
                     ("POST", f"/v1.0/state/{STATESTORE}"),
                     ("GET", f"/v1.0/state/{STATESTORE}/preferences-ivy")]
    assert backend_sidecar.requests[1].json() == [{"key": "preferences-ivy", "value": {"theme": "dark"}}]
    assert {r.headers["dapr-api-token"] for r in backend_sidecar.requests} == {api_token}


def test_the_callers_trace_context_is_passed_to_the_sidecar(backend: Service, backend_sidecar: FakeSidecar) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with backend.client() as client:
        client.post("/api/todos", json={"title": "traced"}, headers={"traceparent": traceparent})
    [publish] = backend_sidecar.published()
    assert publish.headers["traceparent"] == traceparent


@pytest.mark.parametrize(("env", "message"), [
    ({}, r"DATABASE_URL_FILE is not set.*/var/run/secrets/todo-chatbot/DATABASE_URL"),
    ({"DATABASE_URL_FILE": "/nonexistent/DATABASE_URL"}, r"DATABASE_URL_FILE=/nonexistent/DATABASE_URL: cannot read"),
    ({"DATABASE_URL_FILE": "EMPTY"}, r"DATABASE_URL_FILE=.*: the file is empty"),
], ids=["unset", "missing-file", "empty-file"])
def test_the_backend_refuses_to_start_without_its_database_url_naming_the_variable(
        tmp_path: Path, env: dict[str, str], message: str) -> None:
    if env.get("DATABASE_URL_FILE") == "EMPTY":
        empty = tmp_path / "DATABASE_URL"
        empty.write_text("")
        env = {"DATABASE_URL_FILE": str(empty)}
    with Supervisor(tmp_path / "run") as sup:
        spec = SERVICES["backend"]
        proc = sup.start("backend", [sys.executable, "-m", spec.package],
                         env=service_env(spec, sup.free_port(), env))
        assert proc.wait(timeout=30) == 2
        [line] = [json.loads(x) for x in sup.log("backend").read_text().splitlines()]
    assert line["level"] == "error"
    assert re.search(message, line["message"]), line["message"]
