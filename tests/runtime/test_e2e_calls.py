"""Service invocation and the state store through the real processes of the runtime environment (support.e2e):
the frontend stand-in calls the backend through both daprds, and the backend's preferences go through its daprd
into the rendered `statestore` component, backed by the run's PostgreSQL."""

from __future__ import annotations

import json
import uuid

import psycopg

from tests.runtime.support.e2e import STATE_DATABASE, PlatformRun, wait_for
from todo_cloud.runtime import daprd_plan

CALLER, CALLEE = "frontend", "backend"
# state.postgresql v2 keeps its rows in `<tablePrefix>state` (components-contrib state/postgresql/v2/metadata.go).
STATE_TABLE = "state"


def access_log(run: PlatformRun, app_id: str, method: str, path: str) -> list[dict]:
    """The app's access log lines (workloads' JSON logs, logger todo_workload.access) of one route."""
    return [e for e in run.apps[app_id].log_entries()
            if e.get("logger") == "todo_workload.access" and (e.get("method"), e.get("path")) == (method, path)]


def test_the_frontend_calls_the_backend_through_both_sidecars(platform_run: PlatformRun) -> None:
    run = platform_run
    title = f"e2e: invoked {uuid.uuid4()}"
    before = len(access_log(run, CALLEE, "POST", "/api/todos"))
    status, todo = run.apps[CALLER].request("POST", "/api/todos", {"title": title, "user_id": "e2e-calls"})
    assert status == 201, (todo, run.logs)
    # The backend really served it (its access log, written once the response is sent: waited for), and it is in
    # the backend's database (read directly).
    wait_for("the backend's access log line of the call", lambda: len(access_log(run, CALLEE, "POST", "/api/todos"))
             > before, timeout=10, run=run)
    assert len(access_log(run, CALLEE, "POST", "/api/todos")) == before + 1
    assert run.apps[CALLEE].request("GET", f"/api/todos/{todo['id']}") == (200, todo)
    status, listed = run.apps[CALLER].request("GET", "/api/todos")
    assert status == 200 and todo in listed
    status, page = run.apps[CALLER].request("GET", "/")
    assert status == 200 and title in page


def test_the_frontend_daprd_invokes_by_app_id_as_named_in_the_rendered_objects(platform_run: PlatformRun) -> None:
    run = platform_run
    callee = daprd_plan.apps(run.rendered)[CALLEE]
    status, body = run.sidecars[CALLER].invoke(callee.app_id, callee.health_check_path.lstrip("/"))
    assert (status, json.loads(body)) == (200, {"status": "ready"}), run.logs
    status, body = run.sidecars[CALLER].invoke("no-such-app", "health")
    assert status >= 400, "an app id the run does not have is not reached"


def test_preferences_round_trip_through_the_state_store_into_postgresql(platform_run: PlatformRun) -> None:
    run = platform_run
    user = f"e2e-{uuid.uuid4().hex[:12]}"
    preferences = {"theme": "dark", "reminders": [9, 18]}
    assert run.apps[CALLEE].request("GET", f"/api/users/{user}/preferences")[0] == 404
    assert run.apps[CALLEE].request("PUT", f"/api/users/{user}/preferences", preferences) == (200, preferences)
    assert run.apps[CALLEE].request("GET", f"/api/users/{user}/preferences") == (200, preferences)

    (store,) = [c for c in daprd_plan.dapr_objects(run.rendered, "Component")
                if c["spec"]["type"] == "state.postgresql"]
    assert daprd_plan.in_scope(store, CALLEE)
    prefix = {m["name"]: m.get("value") for m in store["spec"]["metadata"]}.get("tablePrefix", "")
    with psycopg.connect(run.pg.databases[STATE_DATABASE].url, autocommit=True) as conn:
        rows = conn.execute(f'SELECT key, value FROM "{prefix}{STATE_TABLE}" WHERE key LIKE %s',
                            (f"%preferences-{user}",)).fetchall()
    # Dapr prefixes the key with the app id (the component's default keyPrefix).
    assert [(key, json.loads(bytes(value))) for key, value in rows] == [(f"{CALLEE}||preferences-{user}", preferences)]
