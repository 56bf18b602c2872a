"""The Secrets `make up` creates for the local environment: one recipe per Secret and key.

The release's required Secrets and the keys they are read by come from its rendered manifests
(todo_cloud.deploy.secrets.required_secrets). Every one of them needs a recipe here; one without is an
error naming it before anything is created (`check`). Secrets that exist already are never touched, so a
key set by hand (a real model API key, say) survives every `make up`.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from todo_cloud.deploy.secrets import RequiredSecret

MODEL_API_KEY_VAR = "TODO_MODEL_API_KEY"
MODEL_API_KEY_PLACEHOLDER = "placeholder-not-a-real-key-set-TODO_MODEL_API_KEY"
MODEL_API_SECRET = "todo-chatbot-model-api"
# Label of the Secrets make up creates (so that they can be told from Secrets made by hand).
CREATED_BY = {"app.kubernetes.io/created-by": "make-up"}


class RecipeError(ValueError):
    """A required Secret or key that make up has no recipe for; the message names each."""


@dataclass(frozen=True)
class Database:
    """How the pods reach the local PostgreSQL."""

    host: str
    port: int
    user: str
    password: str
    name: str

    @property
    def url(self) -> str:
        """PostgreSQL URL, no TLS (a container on the kind network; production uses sslmode=require)."""
        return (f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/"
                f"{self.name}?sslmode=disable")


@dataclass(frozen=True)
class Inputs:
    """What the recipes are made of; `model_api_key` None means not set (a placeholder goes in)."""

    database: Database
    model_api_key: str | None = None

    @classmethod
    def from_environment(cls, database: Database) -> Inputs:
        return cls(database, os.environ.get(MODEL_API_KEY_VAR) or None)


def _random_hex(_: Inputs) -> str:
    return secrets.token_hex(32)


Recipe = Callable[[Inputs], str]

# Secret name -> key -> value; docs/DEPLOYMENT.md ("Secrets to create") and docs/EVENTING.md list them.
RECIPES: dict[str, dict[str, Recipe]] = {
    "todo-chatbot-database": {"url": lambda i: i.database.url},
    # The Dapr state store (state.postgresql v2) keeps its tables (prefix dapr_) in the same database.
    "todo-chatbot-dapr-statestore": {"connectionString": lambda i: i.database.url},
    MODEL_API_SECRET: {"api-key": lambda i: i.model_api_key or MODEL_API_KEY_PLACEHOLDER},
    "todo-chatbot-auth": {"secret": _random_hex},
    "todo-chatbot-dapr-api-token": {"token": _random_hex},
}


def check(required: Iterable[RequiredSecret], recipes: dict[str, dict[str, Recipe]] = RECIPES) -> None:
    """Raise RecipeError naming every required Secret, or key of one, that has no recipe."""
    problems: list[str] = []
    for r in required:
        recipe = recipes.get(r.ref.name)
        if recipe is None:
            problems.append(f"Secret {r.ref} (referenced by {', '.join(r.referenced_by)})")
            continue
        unknown = [k for k in r.keys if k not in recipe]
        if unknown:
            problems.append(f"key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} of Secret {r.ref} "
                            f"(referenced by {', '.join(r.referenced_by)})")
    if problems:
        raise RecipeError("no recipe for " + "; ".join(problems)
                          + " (add one to todo_cloud.local.secrets.RECIPES, or create it by hand first)")


def secret_object(r: RequiredSecret, inputs: Inputs, recipes: dict[str, dict[str, Recipe]] = RECIPES) -> dict[str, Any]:
    """The Secret of one required Secret with every key of its recipe (a superset of the keys read)."""
    data = {key: base64.b64encode(make(inputs).encode()).decode() for key, make in recipes[r.ref.name].items()}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": r.ref.name, "namespace": r.ref.namespace, "labels": dict(CREATED_BY)},
            "data": data}


class SecretStore(Protocol):
    """The cluster, as far as the Secrets go."""

    def existing(self, namespace: str) -> set[str]:
        """Names of the Secrets in `namespace`."""
        ...

    def create(self, obj: dict[str, Any]) -> None:
        """Create one Secret (fails rather than overwrite)."""
        ...


@dataclass
class Outcome:
    """What `ensure` did: Secrets created and kept (`namespace/name`), and warnings (one line each)."""

    created: list[str]
    kept: list[str]
    warnings: list[str]


def ensure(required: list[RequiredSecret], inputs: Inputs, store: SecretStore,
           recipes: dict[str, dict[str, Recipe]] = RECIPES) -> Outcome:
    """Create every required Secret that does not exist yet, with every key; never overwrite one.

    Every recipe is checked before anything is created (RecipeError, nothing applied)."""
    check(required, recipes)
    existing: dict[str, set[str]] = {}
    outcome = Outcome([], [], [])
    for r in required:
        if r.ref.namespace not in existing:
            existing[r.ref.namespace] = store.existing(r.ref.namespace)
        if r.ref.name in existing[r.ref.namespace]:
            outcome.kept.append(str(r.ref))
            continue
        store.create(secret_object(r, inputs, recipes))
        outcome.created.append(str(r.ref))
        if r.ref.name == MODEL_API_SECRET and not inputs.model_api_key:
            outcome.warnings.append(
                f"warning: {MODEL_API_KEY_VAR} is not set, so Secret {r.ref} holds a placeholder and the chatbot "
                f"cannot answer; put a real key in it (docs/DEPLOYMENT.md, Secrets to create)")
    return outcome
