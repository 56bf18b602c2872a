"""The image pull Secret of a DOKS environment: the release needs the registry integration's Secret, and a
deploy without it is refused saying what creates it (the cluster's registry integration, not a person)."""

from __future__ import annotations

import pytest

from todo_cloud import envs
from todo_cloud.deploy import preflight
from todo_cloud.deploy.secrets import release_secrets
from todo_cloud.deploy.state import ClusterState
from todo_cloud.render import render_subchart

DOKS = [e.name for e in envs.all_environments().values() if e.digitalocean]


@pytest.mark.parametrize("env_name", DOKS)
def test_the_release_needs_exactly_the_integration_secret_for_its_pulls(env_name: str) -> None:
    env = envs.get(env_name)
    assert env.digitalocean is not None
    required = release_secrets(render_subchart("app", env_name), env.namespace, [env.values_file])
    pulls = [r for r in required if ".dockerconfigjson" in r.keys]
    assert [r.ref.name for r in pulls] == [f"registry-{env.digitalocean.registry}"]


@pytest.mark.parametrize("env_name", DOKS)
def test_a_missing_pull_secret_is_refused_naming_the_registry_integration(env_name: str) -> None:
    env = envs.get(env_name)
    assert env.digitalocean is not None
    required = release_secrets(render_subchart("app", env_name), env.namespace, [env.values_file])
    others = frozenset((r.ref.namespace, r.ref.name) for r in required if ".dockerconfigjson" not in r.keys)
    [problem] = preflight.check_secrets(required, ClusterState(env.kube_context, others), env)
    assert f"missing Secret {env.namespace}/registry-{env.digitalocean.registry}" in problem
    assert "registry integration" in problem and f"registry add {env.digitalocean.cluster}" in problem
    assert preflight.check_secrets(required, ClusterState(env.kube_context, others | {
        (env.namespace, env.digitalocean.pull_secret)}), env) == []


def test_other_missing_secrets_point_at_the_secrets_to_create() -> None:
    env = envs.get("staging")
    required = release_secrets(render_subchart("app", "staging"), env.namespace, [env.values_file])
    problems = preflight.check_secrets(required, ClusterState(env.kube_context), env)
    assert any("todo-chatbot-database" in p and "'Secrets to create'" in p for p in problems)
