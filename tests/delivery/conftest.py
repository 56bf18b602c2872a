"""Fixtures of the delivery tests (helpers in recorded.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest
import yaml
from recorded import CRD_BUNDLE, OURS, FakeRunner, small_release

from todo_cloud import envs, tools
from todo_cloud.deploy import plan as planning
from todo_cloud.deploy.execute import Outcome, deploy
from todo_cloud.deploy.secrets import required_secrets
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
        options = planning.Options(values=(e.values_file,), **opts)  # type: ignore[arg-type]
        outcome = deploy(e, runner, options, docs, required_secrets(docs, e.namespace, OURS), OURS, CRD_BUNDLE,
                         crd_apis=crd_apis, dry_run=dry_run, report=lines.append)
        return outcome, runner, lines

    return _run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def local_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A CNCF distribution registry (versions.toml [go_tools.registry]) on a free loopback port, with its own
    storage, for the module's lifetime; yields `127.0.0.1:<port>`."""
    try:
        binary = tools.go_tool("registry")
    except tools.ToolError as exc:
        pytest.skip(str(exc))
    root = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = root / "config.yml"
    config.write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")}},
        "http": {"addr": f"127.0.0.1:{port}"},
    }))
    env = dict(os.environ, OTEL_TRACES_EXPORTER="none")
    with (root / "registry.log").open("w") as log:
        # A server for the module's lifetime: the one place a test starts a process outside todo_cloud.run.
        server = subprocess.Popen([str(binary), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"registry did not start: {(root / 'registry.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)
