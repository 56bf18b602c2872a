"""Fixtures of the delivery tests (helpers in recorded.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from recorded import CRD_BUNDLE, OURS, FakeRunner, small_release

from todo_cloud import envs
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
