"""RBAC as the API server decides it (SubjectAccessReviews): the app's service accounts read no Secret beyond
what the app chart's Role grants them by name, and touch nothing in other namespaces; the deploy identity
(the release was installed with its token, see conftest.py) can do what the deploy does and no more; on-call
reads everything but Secrets and port-forwards in the release namespace only (todo_cloud.deploy.rbac)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.support import Deployment, cli, deployed_by_ci
from todo_cloud import envs, tools
from todo_cloud.deploy import rbac
from todo_cloud.run import run
from todo_cloud.sim import cluster as sim

# Components of our app chart, each with its own ServiceAccount.
APP_CHART = "app-"
RBAC = "rbac.authorization.k8s.io"
# API group of each resource the reviews ask about (a subresource after a slash: pods/log).
GROUP = {"secrets": "", "pods": "", "configmaps": "", "services": "", "namespaces": "", "nodes": "", "events": "",
         "serviceaccounts": "", "users": "", "groups": "", "deployments": "apps", "statefulsets": "apps",
         "daemonsets": "apps", "roles": RBAC, "rolebindings": RBAC, "clusterroles": RBAC, "clusterrolebindings": RBAC,
         "customresourcedefinitions": "apiextensions.k8s.io", "kafkas": "kafka.strimzi.io",
         "kafkatopics": "kafka.strimzi.io", "prometheuses": "monitoring.coreos.com",
         "mutatingwebhookconfigurations": "admissionregistration.k8s.io"}


Question = tuple[str, str, str, str, str]  # user, verb, resource[/subresource], namespace, name


def _review(question: Question) -> dict[str, Any]:
    user, verb, resource, namespace, name = question
    resource, _, subresource = resource.partition("/")
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}",
                                              "system:authenticated"],
                     "resourceAttributes": {"verb": verb, "group": GROUP[resource], "resource": resource,
                                            **({"subresource": subresource} if subresource else {}),
                                            **({"namespace": namespace} if namespace else {}),
                                            **({"name": name} if name else {})}}}


def allowed(deployment: Deployment, questions: list[Question]) -> dict[Question, bool]:
    """The API server's answer to each question, asked in one batch of SubjectAccessReviews."""
    got = deployment.cluster.kubectl("create", "-o", "json", "-f", "-",
                                     input=yaml.safe_dump_all([_review(q) for q in questions]))
    decoder, text, items = json.JSONDecoder(), got.stdout.strip(), []
    while text:  # one JSON document per review, back to back
        item, end = decoder.raw_decode(text)
        items.append(item)
        text = text[end:].strip()
    assert len(items) == len(questions)
    return {q: bool(i["status"].get("allowed")) for q, i in zip(questions, items, strict=True)}


@pytest.fixture(scope="module")
def app_accounts(deployment: Deployment) -> dict[str, set[str]]:
    """`system:serviceaccount:<ns>:<name>` of each app ServiceAccount -> Secret names its Roles grant `get` on."""
    ns = deployment.env.namespace
    accounts = {f"system:serviceaccount:{d['metadata'].get('namespace') or ns}:{d['metadata']['name']}": set()
                for d in deployment.manifests if d["kind"] == "ServiceAccount"
                and str((d["metadata"].get("labels") or {}).get("helm.sh/chart", "")).startswith(APP_CHART)}
    roles: dict[str, list[dict[str, Any]]] = {d["metadata"]["name"]: d.get("rules") or []
                                              for d in deployment.manifests if d["kind"] == "Role"}
    for binding in (d for d in deployment.manifests if d["kind"] == "RoleBinding"):
        for s in binding.get("subjects") or []:
            user = f"system:serviceaccount:{s.get('namespace') or ns}:{s['name']}"
            if user in accounts:
                for rule in roles.get(binding["roleRef"]["name"], []):
                    if "secrets" in rule.get("resources", []) and "get" in rule.get("verbs", []):
                        accounts[user] |= set(rule.get("resourceNames") or ["*"])
    assert accounts, "the release has no ServiceAccount of the app chart"
    return accounts


def test_app_service_accounts_read_only_the_secrets_granted_by_name(
        deployment: Deployment, app_accounts: dict[str, set[str]]) -> None:
    ns = deployment.env.namespace
    secrets = [s["metadata"]["name"] for s in deployment.kubectl_json("get", "secrets", "-n", ns)["items"]]
    assert all("*" not in granted for granted in app_accounts.values()), app_accounts
    questions = [(user, "get", "secrets", ns, name) for user in app_accounts for name in secrets]
    questions += [(user, verb, "secrets", ns, "") for user in app_accounts
                  for verb in ("list", "watch", "create", "update", "delete")]
    answers = allowed(deployment, questions)
    wrong = [f"{u} {v} secret {n or '(any)'}: {'allowed' if a else 'denied'}" for (u, v, _, _, n), a in answers.items()
             if a != (v == "get" and n in app_accounts[u])]
    assert not wrong, wrong


def test_app_service_accounts_touch_nothing_in_other_namespaces(
        deployment: Deployment, app_accounts: dict[str, set[str]]) -> None:
    questions = [(user, verb, resource, ns, "") for user in app_accounts for ns in ("default", "kube-system")
                 for verb in ("get", "list", "create", "delete")
                 for resource in ("secrets", "pods", "configmaps", "deployments")]
    wrong = [f"{u} may {v} {r} in {ns}" for (u, v, r, ns, _), a in allowed(deployment, questions).items() if a]
    assert not wrong, wrong


def test_app_service_accounts_cannot_change_their_own_namespace(
        deployment: Deployment, app_accounts: dict[str, set[str]]) -> None:
    ns = deployment.env.namespace
    questions = [(user, verb, resource, ns, "") for user in app_accounts for verb in ("create", "patch", "delete")
                 for resource in ("pods", "deployments", "roles", "rolebindings")]
    wrong = [f"{u} may {v} {r}" for (u, v, r, _, _), a in allowed(deployment, questions).items() if a]
    assert not wrong, wrong


# --- the deploy and on-call identities ------------------------------------------------------------------


def _user(env: envs.Environment, identity: str) -> str:
    return rbac.service_account_user(rbac.identity_namespace(env), identity)


def _kubectl_as(kubeconfig: Path, *args: str) -> tuple[int, str]:
    """The pinned kubectl with an identity's kubeconfig: exit code and stderr (or stdout)."""
    got = run([tools.path("kubectl"), "--kubeconfig", kubeconfig, *args], check=False, timeout=60)
    return got.returncode, (got.stderr or got.stdout)


def _wrong(answers: dict[Question, bool], want: bool) -> list[str]:
    return [f"{u.split(':')[-1]} {v} {r} in {ns or '(cluster)'}{' ' + n if n else ''}: "
            f"{'allowed' if a else 'denied'}" for (u, v, r, ns, n), a in answers.items() if a != want]


def test_ci_environments_are_deployed_by_the_deploy_identity(deployment: Deployment) -> None:
    """The release of staging and production was installed and health-checked (and, in the lifecycle drills,
    upgraded and rolled back) with the deploy ServiceAccount's token, never an admin kubeconfig."""
    assert deployment.result.returncode == 0, deployment.result.output[-3000:]
    got = run([tools.path("kubectl"), "--kubeconfig", deployment.kubeconfig, "auth", "whoami", "-o", "json"],
              timeout=60)
    whoami = json.loads(got.stdout)["status"]["userInfo"]["username"]
    if deployed_by_ci(deployment.env):
        assert whoami == _user(deployment.env, rbac.DEPLOYER)
    else:
        assert not whoami.startswith("system:serviceaccount:"), whoami


def test_the_deploy_identity_may_do_what_the_deploy_does(deployment: Deployment) -> None:
    env, user = deployment.env, _user(deployment.env, rbac.DEPLOYER)
    ns = env.namespace
    cluster_roles = sorted(d["metadata"]["name"] for d in deployment.manifests if d["kind"] == "ClusterRole")
    questions = [(user, verb, resource, ns, "") for verb in ("create", "patch", "delete")
                 for resource in ("deployments", "statefulsets", "services", "configmaps", "kafkas", "prometheuses",
                                  "secrets")]
    questions += [(user, "patch", "daemonsets", f"{ns}-node", ""), (user, "get", "pods/log", ns, ""),
                  (user, "list", "pods", ns, ""), (user, "patch", "namespaces", "", ns),
                  (user, "patch", "customresourcedefinitions", "", "kafkas.kafka.strimzi.io"),
                  (user, "list", "nodes", "", ""), (user, "list", "pods", "kube-system", "")]
    questions += [(user, verb, "clusterroles", "", name) for name in cluster_roles for verb in ("patch", "escalate")]
    assert not _wrong(allowed(deployment, questions), True)


def test_the_deploy_identity_may_not_read_secrets_elsewhere_grant_itself_more_or_act_as_another(
        deployment: Deployment) -> None:
    env, user = deployment.env, _user(deployment.env, rbac.DEPLOYER)
    home = rbac.identity_namespace(env)
    questions = [(user, verb, "secrets", ns, "") for ns in ("default", "kube-system", home) for verb in ("get", "list")]
    questions += [(user, verb, "clusterroles", "", name) for name in ("cluster-admin", "admin", "edit", rbac.DEPLOYER)
                  for verb in ("bind", "escalate", "patch")]
    questions += [(user, "bind", "roles", env.namespace, "some-other-role"),
                  (user, "escalate", "clusterroles", "", "a-new-role"),
                  (user, "delete", "namespaces", "", env.namespace), (user, "patch", "namespaces", "", "default"),
                  (user, "delete", "customresourcedefinitions", "", "kafkas.kafka.strimzi.io"),
                  (user, "patch", "customresourcedefinitions", "", "not-ours.example.com"),
                  (user, "patch", "nodes", "", ""), (user, "create", "pods", "kube-system", ""),
                  (user, "create", "pods/exec", env.namespace, ""),
                  (user, "create", "serviceaccounts/token", env.namespace, ""),
                  (user, "patch", "clusterrolebindings", "", rbac.DEPLOYER)]
    questions += [(user, "impersonate", resource, "", "") for resource in ("users", "groups", "serviceaccounts")]
    assert not _wrong(allowed(deployment, questions), False)


def test_the_deploy_identity_cannot_bind_or_create_a_powerful_role_for_real(
        deployment: Deployment, identity_kubeconfigs: dict[str, Path]) -> None:
    """The API server's escalation checks refuse what the reviews above predict (server-side dry runs)."""
    me = f"{rbac.identity_namespace(deployment.env)}:{rbac.DEPLOYER}"
    for attempt in (["create", "clusterrolebinding", "todo-probe", "--clusterrole=cluster-admin",
                     f"--serviceaccount={me}", "--dry-run=server"],
                    ["create", "clusterrole", "todo-probe", "--verb=*", "--resource=*", "--dry-run=server"],
                    ["get", "secrets", "-n", "kube-system"]):
        code, err = _kubectl_as(identity_kubeconfigs["deploy"], *attempt)
        assert code != 0 and "forbidden" in err.lower(), (attempt, err)


def test_the_deploy_identity_runs_the_nodes_step_of_the_workflow(
        sim_cluster: sim.Cluster, identity_kubeconfigs: dict[str, Path]) -> None:
    """`todo-cloud nodes` (after every CI deploy) reads the nodes and kube-system pods with the deploy
    identity: exit 0 or 1 (the simulated cluster's figures differ), never 2 (cannot read); kind's local
    environment is refused by design (exit 2 naming kind)."""
    got = cli("nodes", "--env", sim_cluster.env, "--kubeconfig", identity_kubeconfigs["deploy"])
    if deployed_by_ci(envs.get(sim_cluster.env)):
        assert got.returncode in (0, 1), got.output
    else:
        assert got.returncode == 2 and "kind" in got.output, got.output


def test_on_call_reads_everything_but_secrets_and_port_forwards_to_the_release_namespace(
        deployment: Deployment) -> None:
    env, user = deployment.env, _user(deployment.env, rbac.ONCALL)
    ns = env.namespace
    may = [(user, verb, resource, space, "") for space in env.namespaces for verb in ("get", "list", "watch")
           for resource in ("pods", "deployments", "daemonsets", "configmaps", "events", "services")]
    may += [(user, verb, resource, ns, "") for verb in ("get", "list", "watch")
            for resource in ("statefulsets", "kafkas", "kafkatopics", "prometheuses")]
    may += [(user, "get", "pods/log", ns, ""), (user, "create", "pods/portforward", ns, ""),
            (user, "get", "pods/portforward", ns, ""), (user, "list", "nodes", "", ""),
            (user, "list", "namespaces", "", "")]
    assert not _wrong(allowed(deployment, may), True)


def test_on_call_reads_no_secret_changes_nothing_and_grants_nothing(deployment: Deployment) -> None:
    env, user = deployment.env, _user(deployment.env, rbac.ONCALL)
    ns = env.namespace
    spaces = (*env.namespaces, "kube-system", "default", rbac.identity_namespace(env))
    must_not = [(user, verb, "secrets", space, "") for space in spaces for verb in ("get", "list", "watch")]
    must_not += [(user, verb, resource, ns, "") for verb in ("create", "patch", "delete")
                 for resource in ("deployments", "pods", "configmaps", "kafkas", "roles", "rolebindings")]
    must_not += [(user, "create", "pods/exec", ns, ""), (user, "create", "pods/portforward", f"{ns}-node", ""),
                 (user, "create", "pods/portforward", "kube-system", ""),
                 (user, "create", "serviceaccounts/token", rbac.identity_namespace(env), rbac.DEPLOYER),
                 (user, "bind", "clusterroles", "", "cluster-admin"),
                 (user, "escalate", "clusterroles", "", rbac.ONCALL)]
    must_not += [(user, "impersonate", resource, "", "") for resource in ("users", "groups", "serviceaccounts")]
    assert not _wrong(allowed(deployment, must_not), False)


def test_on_call_with_its_own_token_lists_pods_but_not_secrets(deployment: Deployment,
                                                                identity_kubeconfigs: dict[str, Path]) -> None:
    oncall = identity_kubeconfigs["oncall"]
    code, err = _kubectl_as(oncall, "get", "pods", "-n", deployment.env.namespace, "-o", "name")
    assert code == 0, err
    code, err = _kubectl_as(oncall, "get", "secrets", "-n", deployment.env.namespace)
    assert code != 0 and "forbidden" in err.lower(), err
