"""Fixtures of the delivery tests (helpers in recorded.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.delivery.recorded import CRD_BUNDLE, OURS, FakeRunner, small_release
from todo_cloud import envs
from todo_cloud.deploy import plan as planning
from todo_cloud.deploy.execute import Outcome, deploy
from todo_cloud.deploy.secrets import required_secrets
from todo_cloud.processes import StartFailed, Supervisor, http_status
from todo_cloud.render import Manifest


@pytest.fixture
def run_deploy() -> Callable[..., tuple[Outcome, FakeRunner, list[str]]]:
    """Deploy `manifests` to environment `env` against a FakeRunner with `answers`; returns the outcome,
    the runner (its recorded commands) and the report lines."""

    def _run(env: str, answers: dict, manifests: list[Manifest] | None = None, *, dry_run: bool = False,
             crd_apis: set[str] = frozenset(), **opts: object) -> tuple[Outcome, FakeRunner, list[str]]:
        e = envs.get(env)
        docs = small_release() if manifests is None else manifests
        runner = FakeRunner(dict(answers))
        lines: list[str] = []
        options = planning.Options(values=e.values_files, **opts)  # type: ignore[arg-type]
        outcome = deploy(e, runner, options, docs, required_secrets(docs, e.namespace, OURS), OURS, CRD_BUNDLE,
                         crd_apis=crd_apis, dry_run=dry_run, report=lines.append)
        return outcome, runner, lines

    return _run


@pytest.fixture(scope="module")
def local_registry(tmp_path_factory: pytest.TempPathFactory, prerequisite: Callable[[str], Path]) -> Iterator[str]:
    """A CNCF distribution registry (versions.toml [go_tools.registry]) on a free loopback port, with its own
    storage, for the module's lifetime; yields `127.0.0.1:<port>`."""
    binary = prerequisite("registry")
    root = tmp_path_factory.mktemp("registry")
    with Supervisor(root, grace=20) as supervisor:
        port = supervisor.free_port()
        config = root / "config.yml"
        config.write_text(yaml.safe_dump({
            "version": 0.1, "log": {"level": "error"},
            "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
            "http": {"addr": f"127.0.0.1:{port}"},
        }))
        supervisor.start("registry", [binary, "serve", config], env=dict(os.environ, OTEL_TRACES_EXPORTER="none"))
        try:
            supervisor.wait_for("registry", lambda: http_status(f"http://127.0.0.1:{port}/v2/") == 200, timeout=30,
                                what="the registry to answer /v2/")
        except StartFailed as exc:
            pytest.fail(f"registry did not start: {exc}")
        yield f"127.0.0.1:{port}"
