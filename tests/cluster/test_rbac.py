"""RBAC as the API server decides it (SubjectAccessReviews): the app's service accounts read no Secret beyond
what the app chart's Role grants them by name, and touch nothing in other namespaces."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from cluster_support import Deployment

# Components of our app chart, each with its own ServiceAccount.
APP_CHART = "app-"
# API group of each resource the reviews ask about.
GROUP = {"secrets": "", "pods": "", "configmaps": "", "deployments": "apps", "roles": "rbac.authorization.k8s.io",
         "rolebindings": "rbac.authorization.k8s.io"}


Question = tuple[str, str, str, str, str]  # user, verb, resource, namespace, name


def _review(question: Question) -> dict[str, Any]:
    user, verb, resource, namespace, name = question
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}",
                                              "system:authenticated"],
                     "resourceAttributes": {"verb": verb, "group": GROUP[resource], "resource": resource,
                                            "namespace": namespace, **({"name": name} if name else {})}}}


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
