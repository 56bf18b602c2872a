"""Every workload as its image runs it: as the chart's non-root UID/GID (when this test runs as root, as CI
does), reading its Secrets from files readable by that group only (the chart's projected volume, mode 0440),
with nothing writable but /tmp; logs as JSON lines; SIGTERM drains in-flight requests and exits 0.

The UID, GID and file mode come from charts/app (values.yaml `defaults.securityContext`, the secrets volume's
defaultMode in templates/_pod.tpl). The sidecar is the recording stand-in of tests.workloads.support.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.workloads.support import COMMON, SERVICES, FakeSidecar, start_service, wait_until
from todo_cloud import yamlfile
from todo_cloud.paths import CHARTS
from todo_cloud.processes import Supervisor
from todo_cloud.runtime import postgres

SECURITY = yamlfile.load(CHARTS / "app" / "values.yaml")["defaults"]["securityContext"]
SECRET_MODE = int(re.search(r"defaultMode:\s*(\d+)", (CHARTS / "app" / "templates" / "_pod.tpl").read_text())[1])
SHUTDOWN_TIMEOUT = int(re.search(r"^SHUTDOWN_TIMEOUT = (\d+)", (COMMON / "todo_workload" / "web.py").read_text(),
                                 re.MULTILINE)[1])
AS_ROOT = os.geteuid() == 0


@dataclass
class Run:
    """One service started, used, and stopped with SIGTERM."""

    name: str
    uid: int = -1
    gid: int = -1
    exit_code: int | None = None
    stop_seconds: float = 0.0
    lines: list[str] = field(default_factory=list)
    in_flight: dict[str, Any] = field(default_factory=dict)


def secret(folder: Path, name: str, value: str) -> str:
    """A Secret key as the chart mounts it: owned by root, group the pod's GID, mode from the chart."""
    path = folder / name
    path.write_text(value + "\n")
    if AS_ROOT:
        os.chown(path, 0, int(SECURITY["runAsGroup"]))
    path.chmod(SECRET_MODE)
    return str(path)


def proc_ids(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    uid = int(next(x for x in status if x.startswith("Uid:")).split()[1])
    gid = int(next(x for x in status if x.startswith("Gid:")).split()[1])
    return uid, gid


@pytest.fixture(scope="module", params=sorted(SERVICES))
def run(request: pytest.FixtureRequest, pg: postgres.Postgres, api_token: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    name = request.param
    result = Run(name)
    # A folder the chart's UID can traverse (pytest's own is root-only), as the pod's working directory.
    home = Path(tempfile.mkdtemp(prefix=f"todo-wl-{name}-"))
    home.chmod(0o755)
    sidecar = FakeSidecar(token=api_token).start()
    env = {"DAPR_API_TOKEN_FILE": secret(home, "DAPR_API_TOKEN", api_token), "DAPR_HTTP_PORT": str(sidecar.port)}
    if name == "backend":
        env["DATABASE_URL_FILE"] = secret(home, "DATABASE_URL", pg.databases["todo"].url)
    if name == "analytics":
        env = {}
    account = postgres.Account("chart", int(SECURITY["runAsUser"]), int(SECURITY["runAsGroup"])) if AS_ROOT else None
    try:
        with Supervisor(tmp_path_factory.mktemp(f"lifecycle-{name}"), grace=SHUTDOWN_TIMEOUT + 10) as sup:
            svc = start_service(sup, name, SERVICES[name], env, argv_prefix=postgres.as_account([], account), cwd=home)
            result.uid, result.gid = proc_ids(sup.pid(name))
            thread = None
            if name == "backend":
                sidecar.publish_delay = 2.0

                def post() -> None:
                    with httpx.Client(base_url=svc.url, timeout=30) as client:
                        resp = client.post("/api/todos", json={"title": "in flight", "user_id": "lifecycle"})
                    result.in_flight = {"status": resp.status_code, "body": resp.json()}

                thread = threading.Thread(target=post)
                thread.start()
                wait_until(lambda: bool(sidecar.published()), 15, "the backend's publish to be in flight")
            else:
                with svc.client() as client:
                    assert client.get(SERVICES[name].health).status_code == 200
            start = time.monotonic()
            result.exit_code = sup.stop(name)
            result.stop_seconds = time.monotonic() - start
            if thread is not None:
                thread.join(30)
            result.lines = sup.log(name).read_text().splitlines()
    finally:
        sidecar.stop()
        shutil.rmtree(home, ignore_errors=True)
    yield result


@pytest.mark.skipif(not AS_ROOT, reason="switching to the chart's UID needs root (CI runs as root)")
def test_the_service_runs_as_the_charts_non_root_uid_and_gid(run: Run) -> None:
    assert (run.uid, run.gid) == (int(SECURITY["runAsUser"]), int(SECURITY["runAsGroup"]))
    assert run.uid != 0


def test_sigterm_stops_the_service_with_exit_code_0_within_the_shutdown_timeout(run: Run) -> None:
    assert run.exit_code == 0
    assert run.stop_seconds < SHUTDOWN_TIMEOUT


def test_every_log_line_is_a_json_object_with_time_level_service_and_message(run: Run) -> None:
    entries = [json.loads(line) for line in run.lines]
    assert entries
    assert all({"time", "level", "service", "message"} <= set(e) for e in entries)
    assert {e["service"] for e in entries} == {run.name}
    assert entries[-1]["message"] == "stopped" and entries[-1]["signal"] == "SIGTERM"


@pytest.mark.parametrize("run", ["backend"], indirect=True)
def test_an_in_flight_request_completes_during_graceful_shutdown(run: Run, pg: postgres.Postgres) -> None:
    """The backend's publish was slowed down to 2 s; SIGTERM came while the request waited for it."""
    assert run.in_flight["status"] == 201
    with psycopg.connect(pg.databases["todo"].url) as conn:
        row = conn.execute("SELECT title FROM todos WHERE id = %s", (run.in_flight["body"]["id"],)).fetchone()
    assert row == ("in flight",)
