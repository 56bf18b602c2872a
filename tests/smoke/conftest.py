"""The cluster the smoke tests run against: named by `todo-cloud smoke --env ENV` (TODO_CLOUD_SMOKE_ENV, and
TODO_CLOUD_SMOKE_KUBECONFIG when given). Without it, or without a reachable cluster whose context is the
environment's, every smoke test skips with that reason. On the simulated cluster (KWOK nodes) the checks that
need running containers skip, saying so."""

from __future__ import annotations

import os

import pytest

from tests.smoke.support import Target
from todo_cloud import envs

ENV_VAR = "TODO_CLOUD_SMOKE_ENV"
KUBECONFIG_VAR = "TODO_CLOUD_SMOKE_KUBECONFIG"


@pytest.fixture(scope="session")
def target() -> Target:
    """The running environment, or a skip saying what is missing."""
    name = os.environ.get(ENV_VAR)
    if not name:
        pytest.skip("no running environment named: run `make smoke ENV=local` (or `todo-cloud smoke --env ENV`) "
                    "against kind (`make up`) or the simulated cluster (`make sim-up`)")
    env = envs.get(name)
    from kubernetes import client, config

    try:
        api = config.new_client_from_config(config_file=os.environ.get(KUBECONFIG_VAR), context=env.kube_context)
        nodes = client.CoreV1Api(api).list_node(_request_timeout=10).items
    except Exception as exc:  # any reason the cluster cannot be reached is a skip with that reason
        pytest.skip(f"cluster of {name} (context {env.kube_context}) not reachable: {str(exc).splitlines()[0]}")
    simulated = bool(nodes) and all((n.metadata.annotations or {}).get("kwok.x-k8s.io/node") for n in nodes)
    return Target(env, api, simulated)
