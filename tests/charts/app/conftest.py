"""Fixtures of the app chart tests: charts/app rendered alone, with the values the umbrella gives it.

Each environment renders once per session (the harness caches renders on disk across xdist workers).
"""

from __future__ import annotations

import pytest

from tests.charts.app.support import CONSUMERS, render_app
from todo_cloud.render import Manifest


@pytest.fixture(scope="session")
def app(env_name: str) -> list[Manifest]:
    """charts/app of one environment (every environment in turn)."""
    return render_app(env_name)


@pytest.fixture(scope="session")
def all_components() -> list[Manifest]:
    """charts/app of the production environment with every event consumer switched on."""
    return render_app("production", {"components": {c: {"enabled": True, "image": {
        "digest": "sha256:" + "3" * 64}} for c in CONSUMERS}})
