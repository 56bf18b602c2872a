"""The deploy and on-call identities as objects (todo_cloud.deploy.rbac), decided from the rendered release
without a cluster; tests/cluster/test_rbac.py proves them on a real API server."""

from __future__ import annotations

from typing import Any

import pytest

from todo_cloud import deps, envs, profiles
from todo_cloud.commands.rbac import release_objects
from todo_cloud.deploy import rbac
from todo_cloud.manifests import object_id
from todo_cloud.render import render_environment


@pytest.fixture(scope="module", params=envs.names())
def objects(request: pytest.FixtureRequest, upstream_charts: deps.DepsStatus) -> tuple[envs.Environment, list]:
    del upstream_charts
    env = envs.get(request.param)
    return env, release_objects(env)


def _rules(objs: list[dict[str, Any]], kind: str, name: str, namespace: str | None = None) -> list[dict]:
    return [r for o in objs if o["kind"] == kind and o["metadata"]["name"] == name
            and o["metadata"].get("namespace") == namespace for r in o["rules"]]


def test_escalate_and_bind_are_granted_only_by_name(objects) -> None:  # type: ignore[no-untyped-def]
    _, objs = objects
    rules = [r for o in objs if o["kind"] in ("Role", "ClusterRole") for r in o["rules"]]
    for rule in rules:
        if {"escalate", "bind", "impersonate", "*"} & set(rule["verbs"]):
            assert rule.get("resourceNames") and "*" not in rule["verbs"], rule
    assert not [r for r in rules if "*" in r["apiGroups"] or ("*" in r["resources"] and r["apiGroups"] == [""])]


def test_the_deploy_identity_reads_secrets_only_in_the_environments_namespaces(objects) -> None:  # type: ignore[no-untyped-def]
    env, objs = objects
    where = {o["metadata"].get("namespace") for o in objs if o["kind"] in ("Role", "ClusterRole")
             and o["metadata"]["name"].startswith(rbac.DEPLOYER)
             and any("secrets" in r["resources"] for r in o["rules"])}
    assert where and where <= set(env.namespaces)


def test_on_call_never_reads_secrets_and_changes_nothing(objects) -> None:  # type: ignore[no-untyped-def]
    _, objs = objects
    rules = [r for o in objs if o["kind"] == "ClusterRole" and o["metadata"]["name"].startswith(rbac.ONCALL)
             for r in o["rules"]]
    assert rules and not [r for r in rules if "secrets" in r["resources"]]
    assert {v for r in rules for v in r["verbs"]} == {"get", "list", "watch", "create"}
    assert [r["resources"] for r in rules if "create" in r["verbs"]] == [["pods/portforward"]]


def test_every_cluster_scoped_object_of_the_release_is_changed_by_its_name(objects) -> None:  # type: ignore[no-untyped-def]
    env, objs = objects
    rules = _rules(objs, "ClusterRole", rbac.DEPLOYER)
    named = {(g, res, n) for r in rules if "patch" in r["verbs"] for g in r["apiGroups"] for res in r["resources"]
             for n in r.get("resourceNames", [])}
    renders = [render_environment(env.name, profile=p) for p in profiles.variants(env)]
    for (group, resource), names in rbac.shape(renders, env.namespace).cluster.items():
        missing = {n for n in names if (group, resource, n) not in named}
        assert not missing, (group, resource, missing)


def test_the_identities_live_apart_from_the_release_with_a_token_for_ci_only(objects) -> None:  # type: ignore[no-untyped-def]
    env, objs = objects
    home = rbac.identity_namespace(env)
    assert home not in env.namespaces
    accounts = {object_id(o) for o in objs if o["kind"] == "ServiceAccount"}
    assert accounts == {f"ServiceAccount/{home}/{rbac.DEPLOYER}", f"ServiceAccount/{home}/{rbac.ONCALL}"}
    [token] = [o for o in objs if o["kind"] == "Secret"]
    assert token["metadata"]["annotations"] == {"kubernetes.io/service-account.name": rbac.DEPLOYER}


@pytest.mark.parametrize(("kind", "resource"), [
    ("Deployment", "deployments"), ("NetworkPolicy", "networkpolicies"), ("Prometheus", "prometheuses"),
    ("Resiliency", "resiliencies"), ("Gateway", "gateways"), ("Kafka", "kafkas"), ("HTTPRoute", "httproutes"),
    ("Ingress", "ingresses"), ("PodDisruptionBudget", "poddisruptionbudgets")])
def test_kinds_are_named_as_the_api_server_names_their_resources(kind: str, resource: str) -> None:
    assert rbac.resource_of(kind) == resource


def test_no_release_binds_cluster_admin_and_the_deploy_identity_may_not_bind_it(objects) -> None:  # type: ignore[no-untyped-def]
    env, objs = objects
    for docs in [render_environment(env.name)]:
        bound = [object_id(d) for d in docs if d.get("kind") in ("ClusterRoleBinding", "RoleBinding")
                 and (d.get("roleRef") or {}).get("name") == "cluster-admin"]
        assert bound == [], "installing these would need bind on cluster-admin"
    binds = [r for o in objs if o["kind"] == "ClusterRole" and o["metadata"]["name"] == rbac.DEPLOYER
             for r in o["rules"] if "bind" in r["verbs"]]
    assert not [r for r in binds if "cluster-admin" in r.get("resourceNames", [])]


def test_the_administrator_grants_velero_cluster_admin_where_the_release_runs_velero(objects) -> None:  # type: ignore[no-untyped-def]
    env, objs = objects
    docs = render_environment(env.name)
    servers = [d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == rbac.VELERO_SERVER]
    grants = [o for o in objs if o["kind"] == "ClusterRoleBinding" and o["roleRef"]["name"] == "cluster-admin"]
    if not servers:  # local: no Velero, no grant
        assert grants == []
        return
    account = servers[0]["spec"]["template"]["spec"]["serviceAccountName"]
    assert [(g["metadata"]["name"], g["subjects"]) for g in grants] == [
        (f"{env.namespace}-velero-server", [{"kind": "ServiceAccount", "name": account, "namespace": env.namespace}])]
