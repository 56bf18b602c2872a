"""`todo-cloud validate`, the release rule of the Dapr Kubernetes secret store (todo_cloud.gates.secretstore):
off by default; an app scoped to it must mount its API token and have a Role reading Secrets, and the
findings name the workload and the rule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gates.synthetic_manifests import deployment
from todo_cloud.gates import kubeschema, secretstore
from todo_cloud.render import Manifest, find, render_subchart


def store(scopes: list[str] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component",
                           "metadata": {"name": "secretstore", "namespace": "todo-chatbot"},
                           "spec": {"type": "secretstores.kubernetes", "version": "v1", "metadata": []}}
    if scopes is not None:
        doc["scopes"] = scopes
    return doc


def dapr_app(app_id: str, *, token: bool) -> dict[str, Any]:
    doc = deployment(app_id, annotations={"dapr.io/enabled": "true", "dapr.io/app-id": app_id})
    doc["spec"]["template"]["spec"]["automountServiceAccountToken"] = token
    return doc


def secret_reader(account: str, *, kind: str = "Role", resources: list[str] | None = None) -> list[dict[str, Any]]:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
            "metadata": {"name": f"{account}-reader", **({"namespace": "todo-chatbot"} if kind == "Role" else {})},
            "rules": [{"apiGroups": [""], "resources": resources or ["secrets"], "verbs": ["get"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{kind}Binding",
               "metadata": {"name": f"{account}-reader", "namespace": "todo-chatbot"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": f"{account}-reader"},
               "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": "todo-chatbot"}]}
    return [role, binding]


def rules(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((f.where, f.rule) for f in secretstore.findings(docs, "staging"))


def test_an_app_with_a_token_and_a_secret_role_may_use_the_store() -> None:
    assert rules([store(["backend"]), dapr_app("backend", token=True), *secret_reader("backend")]) == []


@pytest.mark.parametrize("kind", ["Role", "ClusterRole"])
def test_a_cluster_role_or_a_role_may_grant_the_secrets(kind: str) -> None:
    assert rules([store(["backend"]), dapr_app("backend", token=True), *secret_reader("backend", kind=kind)]) == []


def test_a_scoped_app_without_a_token_is_a_finding_naming_the_workload() -> None:
    found = secretstore.findings([store(["backend"]), dapr_app("backend", token=False), *secret_reader("backend")],
                                 "production")
    assert [(f.where, f.rule) for f in found] == [
        ("production: Deployment/todo-chatbot/backend", "dapr-secretstore-token")]
    assert "serviceAccount.automountToken" in found[0].message


def test_a_token_comes_from_the_service_account_when_the_pod_does_not_say() -> None:
    app = dapr_app("backend", token=True)
    del app["spec"]["template"]["spec"]["automountServiceAccountToken"]
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "automountServiceAccountToken": False,
               "metadata": {"name": "backend", "namespace": "todo-chatbot"}}
    assert rules([store(["backend"]), app, account, *secret_reader("backend")]) == [
        ("staging: Deployment/todo-chatbot/backend", "dapr-secretstore-token")]


@pytest.mark.parametrize("readers", [[], secret_reader("frontend"), secret_reader("backend", resources=["configmaps"])],
                         ids=["no role", "role of another account", "role without secrets"])
def test_a_scoped_app_without_a_secret_role_is_a_finding(readers: list[dict[str, Any]]) -> None:
    assert rules([store(["backend"]), dapr_app("backend", token=True), *readers]) == [
        ("staging: Deployment/todo-chatbot/backend", "dapr-secretstore-role")]


def test_a_binding_of_the_same_account_name_in_another_namespace_grants_nothing() -> None:
    role, binding = secret_reader("backend")
    binding["subjects"][0]["namespace"] = "elsewhere"
    assert rules([store(["backend"]), dapr_app("backend", token=True), role, binding]) == [
        ("staging: Deployment/todo-chatbot/backend", "dapr-secretstore-role")]


def test_an_unscoped_store_is_a_finding() -> None:
    assert rules([store(None), dapr_app("backend", token=False)]) == [
        ("staging: Component/todo-chatbot/secretstore", "dapr-secretstore-scopes")]


def test_apps_outside_the_scopes_need_no_token() -> None:
    assert rules([store(["backend"]), dapr_app("frontend", token=False), dapr_app("backend", token=True),
                  *secret_reader("backend")]) == []


def test_validate_documents_applies_the_rule() -> None:
    found = kubeschema.validate_documents([store(["backend"]), dapr_app("backend", token=False)], "local")
    assert {f.rule for f in found} >= {"dapr-secretstore-token", "dapr-secretstore-role"}


class TestOurCharts:
    """The platform and app charts as the umbrella gives them values: no store by default; opting in
    takes the store's scopes (platform) and the app's token and Role (app) together."""

    @staticmethod
    def release(env: str, platform: dict[str, Any] | None = None, app: dict[str, Any] | None = None) -> list[Manifest]:
        return render_subchart("platform", env, platform) + render_subchart("app", env, app)

    def test_no_store_and_no_token_by_default(self, env_name: str) -> None:
        docs = self.release(env_name)
        assert not [c for c in find(docs, "Component") if c["spec"]["type"] == secretstore.STORE_TYPE]
        assert not [d for d in find(docs, "Deployment") if d["spec"]["template"]["spec"].get(
            "automountServiceAccountToken") is not False]
        assert secretstore.findings(docs, env_name) == []

    def test_opting_in_on_the_store_alone_is_a_finding(self) -> None:
        docs = self.release("staging", {"dapr": {"secretstore": {"enabled": True, "scopes": ["backend"]}}})
        assert rules(docs) == [("staging: Deployment/-/todo-chatbot-backend", "dapr-secretstore-role"),
                               ("staging: Deployment/-/todo-chatbot-backend", "dapr-secretstore-token")]

    def test_opting_in_with_the_token_and_the_role_passes(self) -> None:
        docs = self.release("staging", {"dapr": {"secretstore": {"enabled": True, "scopes": ["backend"]}}},
                            {"components": {"backend": {"serviceAccount": {
                                "automountToken": True, "readSecrets": ["todo-chatbot-database"]}}}})
        assert find(docs, "Component", "secretstore")
        assert secretstore.findings(docs, "staging") == []
