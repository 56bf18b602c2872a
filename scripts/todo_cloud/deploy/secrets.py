"""The Secrets a release needs but does not create, derived from its rendered manifests.

Objects of our own charts count (their `helm.sh/chart` label names a chart of versions.toml [[local]]);
upstream charts reference Secrets that their own hooks or operators create, so their references count only
where our values name the Secret (e.g. Loki's object-storage credentials in values/<env>.yaml). Generic over object
kinds: every reference found anywhere in such an object counts (env `secretKeyRef`,
`envFrom[].secretRef`, volumes' and Strimzi's `secretName`, `existingSecret`, `imagePullSecrets`,
projected `secret` sources, Gateway `certificateRefs`, Dapr component `secretKeyRef`s), except optional
ones. Subtracted are the Secrets the release creates: its own Secret objects and those its custom
resources make an operator write (cert-manager Certificates, Strimzi KafkaUsers and cluster CAs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from todo_cloud.render import Manifest

# Secrets that Strimzi's cluster operator writes for a Kafka cluster named K: K + suffix.
STRIMZI_KAFKA_SECRETS = (
    "-cluster-ca", "-cluster-ca-cert", "-clients-ca", "-clients-ca-cert", "-cluster-operator-certs",
    "-entity-topic-operator-certs", "-entity-user-operator-certs", "-kafka-exporter-certs",
)


@dataclass(frozen=True, order=True)
class SecretRef:
    """A Secret by namespace and name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class RequiredSecret:
    """A Secret the release needs, with the objects that reference it (`Kind/name`)."""

    ref: SecretRef
    referenced_by: list[str] = field(default_factory=list)


def _object_id(obj: Manifest) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def _names_in(node: Any) -> Iterator[str]:
    """Secret names referenced anywhere below `node` (optional references left out)."""
    if isinstance(node, list):
        for item in node:
            yield from _names_in(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("secretKeyRef", "secretRef") and isinstance(value, dict) and value.get("name"):
            if not value.get("optional"):
                yield str(value["name"])
        elif key in ("secretName", "existingSecret") and isinstance(value, str) and value:
            if not node.get("optional"):
                yield value
        elif key == "secret" and isinstance(value, dict) and isinstance(value.get("name"), str):
            if not value.get("optional"):  # a projected volume source
                yield value["name"]
        elif key == "imagePullSecrets" and isinstance(value, list):
            yield from (str(v["name"]) for v in value if isinstance(v, dict) and v.get("name"))
            continue
        elif key == "certificateRefs" and isinstance(value, list):
            yield from (str(v["name"]) for v in value
                        if isinstance(v, dict) and v.get("name") and v.get("kind", "Secret") == "Secret")
            continue
        yield from _names_in(value)


def _created_names(obj: Manifest) -> Iterator[str]:
    """Secrets that exist because of `obj`: itself, or what its operator writes."""
    kind, meta, spec = obj.get("kind"), obj.get("metadata", {}), obj.get("spec") or {}
    api = str(obj.get("apiVersion", ""))
    if kind == "Secret":
        yield meta["name"]
    elif kind == "Certificate" and api.startswith("cert-manager.io/") and spec.get("secretName"):
        yield spec["secretName"]
    elif kind == "KafkaUser" and api.startswith("kafka.strimzi.io/"):
        yield meta["name"]
    elif kind == "Kafka" and api.startswith("kafka.strimzi.io/"):
        yield from (meta["name"] + suffix for suffix in STRIMZI_KAFKA_SECRETS)


def _namespace(obj: Manifest, default: str) -> str:
    return obj.get("metadata", {}).get("namespace") or default


def chart_of(obj: Manifest) -> str | None:
    """Name of the chart an object comes from, by its `helm.sh/chart: <name>-<version>` label."""
    label = (obj.get("metadata", {}).get("labels") or {}).get("helm.sh/chart")
    return str(label).rsplit("-", 1)[0] if label else None


def our_charts() -> set[str]:
    """Names of our own charts in the umbrella (versions.toml [[local]])."""
    from todo_cloud.deps import local_charts

    return {entry["chart"] for entry in local_charts()}


def strings_in(values: Any) -> set[str]:
    """Every string scalar of a values tree (the names our values files configure)."""
    if isinstance(values, dict):
        return {s for v in values.values() for s in strings_in(v)}
    if isinstance(values, list):
        return {s for v in values for s in strings_in(v)}
    return {values} if isinstance(values, str) else set()


def required_secrets(
    manifests: Iterable[Manifest], namespace: str, charts: set[str] | None = None,
    configured: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[RequiredSecret]:
    """Secrets referenced by objects of `charts` (default: ours), or by any object when `configured` (the
    strings of our values files) names them, that the release does not create; sorted by namespace, name."""
    charts = our_charts() if charts is None else charts
    docs = list(manifests)
    created = {SecretRef(_namespace(o, namespace), n) for o in docs for n in _created_names(o)}
    needed: dict[SecretRef, RequiredSecret] = {}
    for obj in docs:
        if obj.get("kind") == "Secret":
            continue
        ours = chart_of(obj) in charts
        ns = _namespace(obj, namespace)
        for name in _names_in(obj.get("spec") or {}) if "spec" in obj else _names_in(obj):
            ref = SecretRef(ns, name)
            if ref in created or not (ours or name in configured):
                continue
            entry = needed.setdefault(ref, RequiredSecret(ref))
            if _object_id(obj) not in entry.referenced_by:
                entry.referenced_by.append(_object_id(obj))
    return [needed[k] for k in sorted(needed)]
