"""The Secrets a release needs but does not create, derived from its rendered manifests.

Objects of our own charts count (their `helm.sh/chart` label names a chart of versions.toml [[local]]);
upstream charts reference Secrets that their own hooks or operators create, so their references count only
where our values name the Secret (e.g. Loki's object-storage credentials in values/<env>.yaml). Generic over object
kinds: every reference found anywhere in such an object counts (env `secretKeyRef`,
`envFrom[].secretRef`, volumes' and Strimzi's `secretName`, `existingSecret`, `imagePullSecrets`,
projected `secret` sources, Gateway `certificateRefs`, Dapr component `secretKeyRef`s, the Dapr sidecar's
`dapr.io/api-token-secret` annotation), except optional ones. Subtracted are the Secrets the release
creates: its own Secret objects and those its custom resources make an operator write (cert-manager
Certificates, Strimzi KafkaUsers and cluster CAs).

Each required Secret also carries the keys its references read: `secretKeyRef.key`, the `items[].key` of a
volume or projected source, `.dockerconfigjson` of an image pull Secret, `tls.crt`/`tls.key` of a Gateway
certificate, `token` of a Dapr API token Secret. A reference that takes the whole Secret (`envFrom`, a
volume without `items`, `existingSecret`) names no key: the manifests do not say which keys it reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from todo_cloud import versions, yamlfile
from todo_cloud.manifests import Manifest, chart_of, object_id
from todo_cloud.paths import UMBRELLA

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


# Keys that a reference of a fixed shape reads.
PULL_SECRET_KEY = ".dockerconfigjson"
TLS_KEYS = ("tls.crt", "tls.key")
# Pod annotations of the Dapr sidecar injector naming a Secret whose key `token` holds an API token.
DAPR_TOKEN_ANNOTATIONS = ("dapr.io/api-token-secret", "dapr.io/app-token-secret")
DAPR_TOKEN_KEY = "token"


@dataclass
class RequiredSecret:
    """A Secret the release needs, with the objects that reference it (object ids) and the keys they read
    (sorted). `whole` is true when some reference takes the whole Secret (`envFrom`, a volume without
    `items`, `existingSecret`): the keys it reads are not known from the manifests."""

    ref: SecretRef
    referenced_by: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    whole: bool = False


def _item_keys(source: dict[str, Any]) -> list[str | None]:
    """Keys a volume or projected `secret` source reads: its `items`, or None (every key) without them."""
    items = source.get("items")
    keys = [str(i["key"]) for i in items if isinstance(i, dict) and i.get("key")] if isinstance(items, list) else []
    return list(keys) or [None]


def _refs_in(node: Any) -> Iterator[tuple[str, str | None]]:
    """(Secret name, key read) of every reference below `node`, key None where the whole Secret is taken
    (optional references left out)."""
    if isinstance(node, list):
        for item in node:
            yield from _refs_in(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in ("secretKeyRef", "secretRef") and isinstance(value, dict) and value.get("name"):
            if not value.get("optional"):
                read = value.get("key") if key == "secretKeyRef" else None
                yield str(value["name"]), str(read) if read else None
        elif key in ("secretName", "existingSecret") and isinstance(value, str) and value:
            if not node.get("optional"):
                for read in _item_keys(node) if key == "secretName" else [None]:
                    yield value, read
        elif key == "secret" and isinstance(value, dict) and isinstance(value.get("name"), str):
            if not value.get("optional"):  # a projected volume source
                for read in _item_keys(value):
                    yield value["name"], read
        elif key == "imagePullSecrets" and isinstance(value, list):
            yield from ((str(v["name"]), PULL_SECRET_KEY) for v in value if isinstance(v, dict) and v.get("name"))
            continue
        elif key == "certificateRefs" and isinstance(value, list):
            yield from ((str(v["name"]), tls_key) for v in value
                        if isinstance(v, dict) and v.get("name") and v.get("kind", "Secret") == "Secret"
                        for tls_key in TLS_KEYS)
            continue
        elif key == "annotations" and isinstance(value, dict):
            yield from ((str(value[a]), DAPR_TOKEN_KEY) for a in DAPR_TOKEN_ANNOTATIONS if value.get(a))
            continue
        yield from _refs_in(value)


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


def our_charts() -> set[str]:
    """Names of our own charts in the umbrella (versions.toml [[local]])."""
    return {local.chart for local in versions.local_charts()}


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
    strings of our values files) names them, that the release does not create; sorted by namespace, name,
    each with the keys its references read."""
    charts = our_charts() if charts is None else charts
    docs = list(manifests)
    created = {SecretRef(_namespace(o, namespace), n) for o in docs for n in _created_names(o)}
    needed: dict[SecretRef, RequiredSecret] = {}
    for obj in docs:
        if obj.get("kind") == "Secret":
            continue
        ours = chart_of(obj) in charts
        ns = _namespace(obj, namespace)
        for name, read in _refs_in(obj.get("spec") or {}) if "spec" in obj else _refs_in(obj):
            ref = SecretRef(ns, name)
            if ref in created or not (ours or name in configured):
                continue
            entry = needed.setdefault(ref, RequiredSecret(ref))
            if object_id(obj, ns) not in entry.referenced_by:
                entry.referenced_by.append(object_id(obj, ns))
            if read is None:
                entry.whole = True
            elif read not in entry.keys:
                entry.keys = sorted([*entry.keys, read])
    return [needed[k] for k in sorted(needed)]


def release_secrets(manifests: Iterable[Manifest], namespace: str,
                    values_files: Iterable[Path]) -> list[RequiredSecret]:
    """The Secrets a release of the umbrella needs but does not create, for the deploy, make up and the cluster
    tests alike: references of our charts, and those of upstream charts that the umbrella's values.yaml or
    `values_files` (the environment's file, then any extra ones) name."""
    files = (UMBRELLA / "values.yaml", *values_files)
    configured = set().union(*(strings_in(yamlfile.load(f)) for f in files))
    return required_secrets(manifests, namespace, our_charts(), configured)
