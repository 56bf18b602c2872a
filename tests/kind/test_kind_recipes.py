"""The Secrets `make up` creates for the local environment (todo_cloud.local.secrets): every required
Secret gets every key it is read by, existing ones are kept, and one without a recipe stops everything."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pytest

from todo_cloud.deploy.secrets import RequiredSecret, SecretRef
from todo_cloud.local import secrets as local_secrets
from todo_cloud.local.checks import release_requirements
from todo_cloud.local.secrets import Database, Inputs, RecipeError

NS = "todo-chatbot"
DB = Database("172.18.0.5", 5432, "todo", "s3cret/with:odd@chars", "todo")


@dataclass
class FakeStore:
    """The cluster's Secrets: names that exist, and what was created."""

    names: set[str] = field(default_factory=set)
    created: list[dict[str, Any]] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def existing(self, namespace: str) -> set[str]:
        self.asked.append(namespace)
        return set(self.names)

    def create(self, obj: dict[str, Any]) -> None:
        assert obj["metadata"]["name"] not in self.names, "an existing Secret must not be written"
        self.created.append(obj)


def decoded(obj: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}


def required(name: str, *keys: str, whole: bool = False) -> RequiredSecret:
    return RequiredSecret(SecretRef(NS, name), [f"Deployment/{NS}/x"], list(keys), whole)


@pytest.fixture(scope="module")
def local_required(upstream_charts: Any) -> list[RequiredSecret]:
    del upstream_charts
    from todo_cloud.render import render_environment

    return release_requirements(render_environment("local"))


def test_every_required_secret_of_local_gets_every_key_it_is_read_by(local_required: list[RequiredSecret]) -> None:
    store = FakeStore()
    outcome = local_secrets.ensure(local_required, Inputs(DB, "sk-test"), store)
    made = {o["metadata"]["name"]: o for o in store.created}
    assert set(made) == {r.ref.name for r in local_required}
    for r in local_required:
        obj = made[r.ref.name]
        assert obj["metadata"]["namespace"] == r.ref.namespace and obj["type"] == "Opaque"
        assert set(r.keys) <= set(obj["data"]), r
        assert all(decoded(obj).values()), f"{r.ref}: an empty value"
    assert sorted(outcome.created) == sorted(str(r.ref) for r in local_required) and not outcome.warnings


def test_the_values_of_the_local_secrets(local_required: list[RequiredSecret]) -> None:
    store = FakeStore()
    local_secrets.ensure(local_required, Inputs(DB, "sk-test"), store)
    values = {o["metadata"]["name"]: decoded(o) for o in store.created}
    url = "postgresql://todo:s3cret%2Fwith%3Aodd%40chars@172.18.0.5:5432/todo?sslmode=disable"
    assert values["todo-chatbot-database"] == {"url": url}
    assert values["todo-chatbot-dapr-statestore"] == {"connectionString": url}
    assert values["todo-chatbot-model-api"] == {"api-key": "sk-test"}
    for name, key in (("todo-chatbot-auth", "secret"), ("todo-chatbot-dapr-api-token", "token")):
        assert len(values[name][key]) == 64 and int(values[name][key], 16) >= 0


def test_random_secrets_differ_between_secrets_and_runs() -> None:
    wanted = [required("todo-chatbot-auth", "secret"), required("todo-chatbot-dapr-api-token", "token")]
    first, second = FakeStore(), FakeStore()
    local_secrets.ensure(wanted, Inputs(DB), first)
    local_secrets.ensure(wanted, Inputs(DB), second)
    values = [v for store in (first, second) for o in store.created for v in decoded(o).values()]
    assert len(set(values)) == 4


def test_without_a_model_api_key_a_placeholder_goes_in_and_it_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(local_secrets.MODEL_API_KEY_VAR, raising=False)
    store = FakeStore()
    outcome = local_secrets.ensure([required("todo-chatbot-model-api", "api-key")], Inputs.from_environment(DB), store)
    assert decoded(store.created[0]) == {"api-key": local_secrets.MODEL_API_KEY_PLACEHOLDER}
    assert "placeholder" in local_secrets.MODEL_API_KEY_PLACEHOLDER
    (warning,) = outcome.warnings
    assert "\n" not in warning and "TODO_MODEL_API_KEY is not set" in warning and "cannot answer" in warning


def test_the_model_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(local_secrets.MODEL_API_KEY_VAR, "sk-from-env")
    store = FakeStore()
    outcome = local_secrets.ensure([required("todo-chatbot-model-api", "api-key")], Inputs.from_environment(DB), store)
    assert decoded(store.created[0]) == {"api-key": "sk-from-env"} and not outcome.warnings


def test_existing_secrets_are_kept_untouched() -> None:
    store = FakeStore(names={"todo-chatbot-auth", "todo-chatbot-model-api"})
    wanted = [required("todo-chatbot-auth", "secret"), required("todo-chatbot-model-api", "api-key"),
              required("todo-chatbot-database", "url")]
    outcome = local_secrets.ensure(wanted, Inputs(DB), store)
    assert [o["metadata"]["name"] for o in store.created] == ["todo-chatbot-database"]
    assert outcome.kept == [f"{NS}/todo-chatbot-auth", f"{NS}/todo-chatbot-model-api"]
    assert not outcome.warnings, "no placeholder warning for a model API Secret that exists"
    assert store.asked == [NS], "one look at the namespace"


def test_a_whole_secret_reference_gets_every_key_of_its_recipe() -> None:
    store = FakeStore()
    local_secrets.ensure([required("todo-chatbot-database", whole=True)], Inputs(DB), store)
    assert set(store.created[0]["data"]) == {"url"}


def test_an_unknown_secret_is_an_error_naming_it_and_nothing_is_created() -> None:
    store = FakeStore()
    wanted = [required("todo-chatbot-auth", "secret"), required("todo-chatbot-mystery", "k")]
    with pytest.raises(RecipeError, match=r"no recipe for Secret todo-chatbot/todo-chatbot-mystery "
                                          r"\(referenced by Deployment/todo-chatbot/x\)"):
        local_secrets.ensure(wanted, Inputs(DB), store)
    assert store.created == [] and store.asked == []


def test_an_unknown_key_is_an_error_naming_it_and_nothing_is_created() -> None:
    store = FakeStore()
    wanted = [required("todo-chatbot-database", "url", "replica-url"), required("todo-chatbot-auth", "secret")]
    with pytest.raises(RecipeError, match=r"no recipe for key replica-url of Secret todo-chatbot/todo-chatbot-database "
                                          r"\(referenced by Deployment/todo-chatbot/x\)"):
        local_secrets.ensure(wanted, Inputs(DB), store)
    assert store.created == []


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(RecipeError) as err:
        local_secrets.check([required("a", "k"), required("todo-chatbot-auth", "secret", "pepper"), required("b")])
    message = str(err.value)
    assert "Secret todo-chatbot/a" in message and "Secret todo-chatbot/b" in message
    assert "key pepper of Secret todo-chatbot/todo-chatbot-auth" in message and "\n" not in message


def test_the_created_secrets_say_who_made_them() -> None:
    store = FakeStore()
    local_secrets.ensure([required("todo-chatbot-auth", "secret")], Inputs(DB), store)
    assert store.created[0]["metadata"]["labels"] == {"app.kubernetes.io/created-by": "make-up"}
