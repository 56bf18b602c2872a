"""The simulated cluster for the cluster tests: one control plane per environment, shared by its tests.

Every test here that needs the simulated cluster is marked `cluster` and put in the xdist group of its
environment (`sim-cluster-<env>`; `sim-cluster` for the tests that start clusters of their own), so one
worker runs an environment's tests in order while another runs the next environment's: `sim_cluster` starts
the environment's cluster (todo_cloud.sim) and always stops it (process groups, temp folder) before that
worker starts the next one. `deployment` installs the release once per cluster with the deploy command
itself (`todo-cloud deploy`), default wait strategy included. Missing binaries fail the tests with the
one-line reason (`make test` builds them first); a cluster that does not start is an error saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.support import (
    HERE,
    Deployment,
    create_required_secrets,
    deploy,
    deploy_values,
    deployed_by_ci,
    identities,
)
from todo_cloud import deps, envs
from todo_cloud.paths import UMBRELLA
from todo_cloud.render import render_chart
from todo_cloud.sim import cluster as sim

GROUP = "sim-cluster"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder that needs the simulated cluster (or its binaries) is marked `cluster` and put
    in its environment's xdist group: with `--dist loadgroup` a group runs on one worker, so an environment's
    cluster is started once and its tests keep their order (the lifecycle drills, which uninstall the release,
    come last), while two environments' clusters run side by side on two workers. The `@group` suffix of the
    node id, which xdist schedules by, is set by tests/conftest.py."""
    for item in items:
        needs = {"sim_binaries", "sim_cluster", "deployment", "identity_kubeconfigs"} & set(
            getattr(item, "fixturenames", ()))
        if HERE in Path(str(item.fspath)).parents and needs:
            item.add_marker(pytest.mark.cluster)
            item.add_marker(pytest.mark.xdist_group(group_of(item)))


def group_of(item: pytest.Item) -> str:
    """`sim-cluster-<env>` for a test of an environment's cluster, `sim-cluster` for one that starts its own."""
    env = getattr(getattr(item, "callspec", None), "params", {}).get("sim_cluster")
    return f"{GROUP}-{env}" if env else GROUP


@pytest.fixture(scope="session")
def sim_binaries(prerequisite: Callable[[str], Path]) -> Path:
    """The built binaries of the simulated cluster (`make prereqs` builds them); the tests fail saying how to
    build them where they are missing."""
    return prerequisite("sim")


@pytest.fixture(scope="session", params=envs.names())
def sim_cluster(request: pytest.FixtureRequest, sim_binaries: Path,
                upstream_charts: deps.DepsStatus) -> Iterator[sim.Cluster]:
    """A running simulated cluster shaped like the environment's node pool (stopped after its tests)."""
    del upstream_charts
    try:
        with sim.running(request.param, binaries=sim_binaries) as cluster:
            yield cluster
    except sim.SimError as exc:
        pytest.fail(f"simulated cluster for {request.param} did not start: {exc}", pytrace=False)
    alive = [name for name in cluster.pids if cluster.alive(name)]
    assert not alive and not cluster.workdir.exists(), f"left behind after stop: {alive}, {cluster.workdir}"


@pytest.fixture(scope="session")
def identity_kubeconfigs(sim_cluster: sim.Cluster) -> dict[str, Path]:
    """The deploy and on-call identities applied by the admin (`todo-cloud rbac apply`), with a kubeconfig
    each: identity -> kubeconfig."""
    return identities(sim_cluster)


@pytest.fixture(scope="session")
def deployment(sim_cluster: sim.Cluster, identity_kubeconfigs: dict[str, Path]) -> Deployment:
    """The release installed on the environment's simulated cluster by the deploy command, as CI installs it:
    with the deploy identity's kubeconfig (the admin's for kind)."""
    env = envs.get(sim_cluster.env)
    manifests = render_chart(UMBRELLA, [*env.values_files, *deploy_values(env)], release=env.release,
                             namespace=env.namespace)
    created = create_required_secrets(sim_cluster, env, manifests)
    kubeconfig = identity_kubeconfigs["deploy"] if deployed_by_ci(env) else sim_cluster.kubeconfig
    return Deployment(env, sim_cluster, manifests, deploy(sim_cluster, kubeconfig=kubeconfig), created, kubeconfig)

