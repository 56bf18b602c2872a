"""required_secrets carries the keys each required Secret is read by: on hand-written manifests of every
reference shape, and on the rendered local release that `make up` creates the Secrets for."""

from __future__ import annotations

from typing import Any

import pytest

from todo_cloud.deploy.secrets import RequiredSecret, required_secrets
from todo_cloud.local.checks import release_requirements
from todo_cloud.render import Manifest

NS = "todo-chatbot"
OURS = {"app", "platform"}


def deployment(name: str, pod: dict[str, Any], annotations: dict[str, str] | None = None) -> Manifest:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": {"helm.sh/chart": "app-0.1.0"}},
            "spec": {"template": {"metadata": {"annotations": annotations or {}}, "spec": pod}}}


def by_name(docs: list[Manifest]) -> dict[str, RequiredSecret]:
    return {r.ref.name: r for r in required_secrets(docs, NS, OURS)}


def test_an_env_secret_key_ref_requires_its_key() -> None:
    pod = {"containers": [{"name": "c", "env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}
    (db,) = required_secrets([deployment("a", pod)], NS, OURS)
    assert (db.ref.name, db.keys, db.whole) == ("db", ["password", "url"], False)


def test_volume_and_projected_items_require_their_keys() -> None:
    pod = {"containers": [{"name": "c"}], "volumes": [
        {"name": "v", "secret": {"secretName": "tls", "items": [{"key": "ca.crt", "path": "ca"}]}},
        {"name": "p", "projected": {"sources": [
            {"secret": {"name": "auth", "items": [{"key": "secret", "path": "AUTH"}]}},
            {"secret": {"name": "token", "items": [{"key": "token", "path": "T"}, {"key": "old", "path": "O"}]}}]}}]}
    found = by_name([deployment("a", pod)])
    assert {n: (r.keys, r.whole) for n, r in found.items()} == {
        "tls": (["ca.crt"], False), "auth": (["secret"], False), "token": (["old", "token"], False)}


def test_whole_secret_references_name_no_key() -> None:
    pod = {"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "env-all"}}]}],
           "volumes": [{"name": "v", "secret": {"secretName": "mounted"}},
                       {"name": "p", "projected": {"sources": [{"secret": {"name": "projected"}}]}}]}
    found = by_name([deployment("a", pod)])
    assert {n: (r.keys, r.whole) for n, r in found.items()} == {
        "env-all": ([], True), "mounted": ([], True), "projected": ([], True)}


def test_keys_of_every_reference_of_one_secret_are_merged() -> None:
    a = deployment("a", {"containers": [{"name": "c", "env": [
        {"name": "U", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}]}]})
    items = [{"key": "ca", "path": "c"}]
    b = deployment("b", {"containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "db"}}]}],
                         "volumes": [{"name": "v", "secret": {"secretName": "db", "items": items}}]})
    (db,) = required_secrets([a, b], NS, OURS)
    assert (db.keys, db.whole, db.referenced_by) == (["ca", "url"], True, [f"Deployment/{NS}/a", f"Deployment/{NS}/b"])


def test_fixed_shapes_name_their_keys() -> None:
    pod = {"containers": [{"name": "c"}], "imagePullSecrets": [{"name": "registry"}]}
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": "web", "labels": {"helm.sh/chart": "app-0.1.0"}},
               "spec": {"listeners": [{"tls": {"certificateRefs": [{"name": "web-tls"}]}}]}}
    component = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component",
                 "metadata": {"name": "statestore", "labels": {"helm.sh/chart": "platform-0.1.0"}},
                 "spec": {"metadata": [{"name": "connectionString",
                                        "secretKeyRef": {"name": "pg", "key": "connectionString"}}]}}
    found = by_name([deployment("a", pod, {"dapr.io/api-token-secret": "dapr-token"}), gateway, component])
    assert {n: r.keys for n, r in found.items()} == {
        "registry": [".dockerconfigjson"], "web-tls": ["tls.crt", "tls.key"], "dapr-token": ["token"],
        "pg": ["connectionString"]}


def test_optional_references_add_no_key() -> None:
    pod = {"containers": [{"name": "c", "env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "other", "key": "x", "optional": True}}}]}]}
    assert {n: r.keys for n, r in by_name([deployment("a", pod)]).items()} == {"db": ["url"]}


@pytest.fixture(scope="module")
def local_required(upstream_charts: Any) -> dict[str, RequiredSecret]:
    del upstream_charts
    from todo_cloud.render import render_environment

    return {r.ref.name: r for r in release_requirements(render_environment("local"))}


def test_the_local_release_reads_these_secrets_and_keys(local_required: dict[str, RequiredSecret]) -> None:
    # docs/DEPLOYMENT.md and docs/EVENTING.md, "Secrets to create"; local pulls no image from a registry.
    assert {n: (r.keys, r.whole) for n, r in local_required.items()} == {
        "todo-chatbot-database": (["url"], False),
        "todo-chatbot-model-api": (["api-key"], False),
        "todo-chatbot-auth": (["secret"], False),
        "todo-chatbot-dapr-api-token": (["token"], False),
        "todo-chatbot-dapr-statestore": (["connectionString"], False),
    }
    assert {r.ref.namespace for r in local_required.values()} == {NS}


def test_the_dapr_token_is_read_by_the_sidecars_and_the_apps(local_required: dict[str, RequiredSecret]) -> None:
    assert {"Deployment/todo-chatbot/todo-chatbot-backend", "Deployment/todo-chatbot/todo-chatbot-frontend"} <= set(
        local_required["todo-chatbot-dapr-api-token"].referenced_by)
