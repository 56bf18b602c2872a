"""Fixtures of the workload tests: one throwaway PostgreSQL cluster, recording sidecars, and the services
started once per session as real processes (uvicorn on 127.0.0.1, ports chosen at start)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workloads.support import SERVICES, FakeSidecar, Service, start_service, write_secret
from todo_cloud.processes import Supervisor
from todo_cloud.runtime import postgres


@pytest.fixture(scope="session")
def sup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    """The supervisor of the session's processes (logs in its folder); everything stopped at the end."""
    with Supervisor(tmp_path_factory.mktemp("workloads"), grace=5) as supervisor:
        yield supervisor


@pytest.fixture(scope="session")
def pg(sup: Supervisor) -> Iterator[postgres.Postgres]:
    with postgres.running(sup, databases=["todo"]) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def api_token() -> str:
    return secrets.token_hex(16)


@pytest.fixture(scope="session")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets")


@pytest.fixture(scope="session")
def backend_sidecar(api_token: str) -> Iterator[FakeSidecar]:
    sidecar = FakeSidecar(token=api_token).start()
    yield sidecar
    sidecar.stop()


@pytest.fixture(scope="session")
def backend_service(sup: Supervisor, pg: postgres.Postgres, backend_sidecar: FakeSidecar, api_token: str,
                    secrets_dir: Path) -> Service:
    env = {
        "DATABASE_URL_FILE": str(write_secret(secrets_dir / "backend", "DATABASE_URL", pg.databases["todo"].url)),
        "DAPR_API_TOKEN_FILE": str(write_secret(secrets_dir / "backend", "DAPR_API_TOKEN", api_token)),
        "DAPR_HTTP_PORT": str(backend_sidecar.port),
    }
    return start_service(sup, "backend", SERVICES["backend"], env)


@pytest.fixture
def backend(backend_service: Service, backend_sidecar: FakeSidecar) -> Service:
    """The running backend, its sidecar's recordings cleared."""
    backend_sidecar.reset()
    return backend_service


@pytest.fixture(scope="session")
def analytics(sup: Supervisor) -> Service:
    """The analytics consumer (it only receives: Dapr delivers to it; no sidecar calls)."""
    return start_service(sup, "analytics", SERVICES["analytics"], {})


@pytest.fixture(scope="session")
def frontend_sidecar_session(api_token: str, backend_service: Service) -> Iterator[FakeSidecar]:
    sidecar = FakeSidecar(token=api_token, apps={"backend": backend_service.url}).start()
    yield sidecar
    sidecar.stop()


@pytest.fixture(scope="session")
def frontend_service(sup: Supervisor, frontend_sidecar_session: FakeSidecar, api_token: str,
                     secrets_dir: Path) -> Service:
    env = {"DAPR_API_TOKEN_FILE": str(write_secret(secrets_dir / "frontend", "DAPR_API_TOKEN", api_token)),
           "DAPR_HTTP_PORT": str(frontend_sidecar_session.port)}
    return start_service(sup, "frontend", SERVICES["frontend"], env)


@pytest.fixture
def frontend_sidecar(frontend_sidecar_session: FakeSidecar, backend_service: Service) -> Iterator[FakeSidecar]:
    """The frontend's sidecar, its recordings cleared, invoking the running backend."""
    frontend_sidecar_session.reset()
    frontend_sidecar_session.apps = {"backend": backend_service.url}
    yield frontend_sidecar_session
    frontend_sidecar_session.apps = {"backend": backend_service.url}
