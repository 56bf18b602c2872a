"""Fixtures of the event backbone tests: charts/platform rendered alone per environment, and the CRD
schemas of the pinned Strimzi and Dapr charts."""

from __future__ import annotations

import pytest

from tests.charts.platform.eventing.support import ALL_CONSUMERS_ON, crd_schemas, render_platform
from todo_cloud import deps
from todo_cloud.render import Manifest


@pytest.fixture(scope="session")
def platform(env_name: str) -> list[Manifest]:
    """charts/platform of one environment (every environment in turn), as the umbrella installs it."""
    return render_platform(env_name)


@pytest.fixture(scope="session")
def with_consumers(env_name: str) -> list[Manifest]:
    """charts/platform of one environment with every event consumer switched on."""
    return render_platform(env_name, ALL_CONSUMERS_ON)


@pytest.fixture(scope="session")
def crds(upstream_charts: deps.DepsStatus) -> dict[str, dict]:
    """JSON schemas of the Strimzi and Dapr CRDs shipped in the pinned chart archives."""
    del upstream_charts
    return crd_schemas()
