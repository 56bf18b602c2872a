"""Metadata keys a Dapr component accepts, from the metadata.yaml files of github.com/dapr/components-contrib
at the version the pinned daprd requires (versions.toml [go_builds.daprd] -> its go.mod), downloaded
through the Go module proxy into the Go module cache.

Why a static check: daprd refuses a component whose *required* key is misspelled (its fatal log line says
which: tests/runtime/test_daprd_broken_component.py), but it ignores an unknown key without a word, so a
misspelled optional key (`initialOfset`) silently falls back to the default. `unknown_keys` names each
metadata entry of a rendered Component that neither the component's metadata.yaml (its `metadata` and
`authenticationProfiles`) nor the Dapr runtime itself (RUNTIME_KEYS) reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from todo_cloud import gobuild, yamlfile
from todo_cloud.render import Manifest

CONTRIB = "github.com/dapr/components-contrib"
# Keys the Dapr runtime reads from every component of a kind, besides the component's own (dapr v1.18:
# pkg/runtime/pubsub scopes and topic lists; pkg/components/state key prefixes, actor store, outbox).
RUNTIME_KEYS = {
    "pubsub": {"allowedTopics", "protectedTopics", "publishingScopes", "subscriptionScopes", "consumerID"},
    "state": {"keyPrefix", "actorStateStore", "outboxPublishPubsub", "outboxPublishTopic", "outboxPubsub",
              "outboxDiscardWhenMissingState"},
}


@dataclass(frozen=True)
class UnknownKey:
    """A metadata entry of a rendered Component that nothing in daprd reads."""

    component: str
    type: str
    version: str
    key: str

    def __str__(self) -> str:
        return (f"Component/{self.component} ({self.type}/{self.version}): metadata {self.key!r} is not a key of "
                f"the component nor of the Dapr runtime; daprd ignores it")


@cache
def contrib_dir() -> Path:
    """components-contrib's source at the version the pinned daprd's go.mod requires."""
    pin = gobuild.pin("daprd")
    dapr = gobuild.module_dir(pin.module, pin.version)
    return gobuild.module_dir(CONTRIB, gobuild.required_version(dapr / "go.mod", CONTRIB))


_HEADER = re.compile(r"^(type|name|version):\s*\"?([\w.-]+)\"?\s*$", re.MULTILINE)


@cache
def schema_files() -> dict[tuple[str, str], Path]:
    """(type, version) -> metadata.yaml of every component of components-contrib (`type` as in a Component:
    `pubsub.kafka`), indexed by their top-level type/name/version lines (a few upstream files are not YAML
    that parses: they are read only when a rendered Component has their type)."""
    out: dict[tuple[str, str], Path] = {}
    for path in contrib_dir().rglob("metadata.yaml"):
        header = dict(_HEADER.findall(path.read_text()))
        if {"type", "name", "version"} <= set(header):
            out[(f"{header['type']}.{header['name']}", header["version"])] = path
    return out


class Schemas(dict):
    """(type, version) -> parsed metadata.yaml, read on first use."""

    def get(self, key: tuple[str, str], default: dict | None = None) -> dict | None:  # type: ignore[override]
        path = schema_files().get(key)
        return default if path is None else yamlfile.load(path)


def known_keys(schema: dict) -> set[str]:
    """Metadata keys a component's metadata.yaml declares (its own and those of its authentication profiles)."""
    keys = {m["name"] for m in schema.get("metadata") or []}
    for profile in schema.get("authenticationProfiles") or []:
        keys |= {m["name"] for m in profile.get("metadata") or []}
    return keys | RUNTIME_KEYS.get(schema["type"], set())


def unknown_keys(rendered: Iterable[Manifest], known: dict[tuple[str, str], dict] | None = None) -> list[UnknownKey]:
    """Every metadata entry of the rendered Components that daprd would ignore (components with no
    metadata.yaml, such as a type daprd does not have, are daprd's to refuse: not reported here)."""
    known = Schemas() if known is None else known
    out = []
    for obj in rendered:
        if obj.get("kind") != "Component" or not str(obj.get("apiVersion", "")).startswith("dapr.io/"):
            continue
        spec = obj["spec"]
        schema = known.get((spec["type"], spec.get("version", "v1")))
        if schema is None:
            continue
        keys = known_keys(schema)
        out += [UnknownKey(obj["metadata"]["name"], spec["type"], spec.get("version", "v1"), e["name"])
                for e in spec.get("metadata") or [] if e["name"] not in keys]
    return out
