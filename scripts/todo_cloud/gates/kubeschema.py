"""Schema validation of rendered objects (`todo-cloud validate`).

Core kinds are checked against the strict Kubernetes OpenAPI schemas of the target minor, bundled by the
pinned `kubernetes-validate` package. Custom resources are checked against JSON schemas converted from
the `openAPIV3Schema` of the CRDs inside the pinned upstream chart archives (todo_cloud.crds: their `crds/`
folders, nested subcharts included) and of the CRDs no chart ships, read from pinned Go modules
(versions.toml [external_crds], todo_cloud.gates.external_crds), all cached under .cache/crd-schemas/.
An object whose kind and apiVersion no source knows is a finding too; so is an object of an external
group whose module cannot be had here ("schema unavailable: <reason>"): it is never passed unchecked.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from todo_cloud import crds, versions
from todo_cloud.gates import Finding, external_crds, secretstore
from todo_cloud.manifests import object_id
from todo_cloud.paths import CACHE
from todo_cloud.render import Manifest

GATE = "validate"
# Part of every cache key of converted CRD schemas: change it when todo_cloud.crds' conversion changes.
CONVERSION = "crd-schemas-v3"


def kubernetes_minor() -> str:
    """`1.35` for the pinned Kubernetes version."""
    return ".".join(versions.kubernetes_version().split(".")[:2])


def core_schema_dir() -> Path:
    """Folder of the strict schemas of the target minor inside kubernetes-validate."""
    folder = Path(str(resources.files("kubernetes_validate"))) / "kubernetes-json-schema"
    target = folder / f"v{kubernetes_minor()}.0-local-strict"
    if not target.is_dir():
        raise FileNotFoundError(f"kubernetes-validate has no schemas for Kubernetes {kubernetes_minor()}: {target}")
    return target


@cache
def _core_registry() -> Registry:
    definitions = json.loads((core_schema_dir() / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@cache
def _core_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator | None:
    group_version = api_version.split("/")
    # rbac.authorization.k8s.io/v1 -> rbac-v1; v1 -> v1 (kubernetes-validate's file naming)
    prefix = group_version[0].split(".")[0] + "-" if len(group_version) == 2 else ""
    path = core_schema_dir() / f"{kind.lower()}-{prefix}{group_version[-1]}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    # The strict schema pins apiVersion/kind by enum; it must also be the kind it was looked up for.
    if kind not in json.dumps(schema.get("x-kubernetes-group-version-kind", kind)):
        return None
    return jsonschema.Draft202012Validator(schema, registry=Resource.from_contents(schema) @ _core_registry())


# --- CRD schemas from the upstream chart archives ------------------------------------------------------


def _archives_digest(archives: list[Path]) -> str:
    digest = hashlib.sha256(CONVERSION.encode())
    for a in archives:
        digest.update(a.name.encode() + a.read_bytes())
    return digest.hexdigest()[:16]


def _cached(name: str, build: Any) -> dict[str, dict[str, Any]]:
    """JSON `.cache/crd-schemas/<name>.json`, written by `build()` when absent."""
    store = CACHE / "crd-schemas"
    cached = store / f"{name}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    schemas = build()
    store.mkdir(parents=True, exist_ok=True)
    part = cached.with_name(f"{cached.name}.{os.getpid()}.part")
    part.write_text(json.dumps(schemas))
    part.replace(cached)
    return schemas


@cache
def chart_crd_schemas() -> dict[str, dict[str, Any]]:
    """Schemas of every CRD version in the pinned chart archives (cached)."""
    return _cached(_archives_digest(crds.chart_archives()), lambda: crds.chart_schemas(crds.crd_files()))


@cache
def _external_crd_schemas() -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Schemas of the [external_crds] pins that can be had, and `group -> reason` of those that cannot."""
    schemas: dict[str, dict[str, Any]] = {}
    unavailable: dict[str, str] = {}
    for pin in external_crds.pins():
        digest = hashlib.sha256(f"{CONVERSION} {pin.source} {pin.paths}".encode()).hexdigest()[:16]
        try:
            schemas.update(_cached(f"{pin.name}-{digest}", lambda pin=pin: crds.schemas_of(
                external_crds.crd_documents_of(pin.name), pin.source)))
        except external_crds.Unavailable as exc:
            unavailable.update(dict.fromkeys(pin.groups, str(exc)))
    return schemas, unavailable


def unavailable_groups() -> dict[str, str]:
    """API group -> why its pinned external CRDs cannot be had here (empty when every pin is available)."""
    return _external_crd_schemas()[1]


@cache
def crd_schemas() -> dict[str, dict[str, Any]]:
    """`group/version/Kind` -> JSON schema, for every CRD version of the pinned chart archives and of the
    external CRD modules that can be had (both cached)."""
    return {**chart_crd_schemas(), **_external_crd_schemas()[0]}


@cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.Draft7Validator | None:
    entry = crd_schemas().get(f"{api_version}/{kind}")
    return jsonschema.Draft7Validator(entry["schema"]) if entry else None


# Cluster-scoped kinds of Kubernetes itself (custom kinds take their scope from their CRD).
CLUSTER_SCOPED_CORE = frozenset({
    "APIService", "CSIDriver", "CSINode", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding",
    "ClusterTrustBundle", "CustomResourceDefinition", "DeviceClass", "FlowSchema", "IngressClass",
    "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace",
    "Node", "PersistentVolume", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass", "StorageClass",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
    "VolumeAttachment", "VolumeAttributesClass",
})


def namespaced(api_version: str, kind: str) -> bool:
    """Whether objects of this kind live in a namespace (unknown custom kinds count as namespaced)."""
    if kind in CLUSTER_SCOPED_CORE:
        return False
    entry = crd_schemas().get(f"{api_version}/{kind}")
    return entry is None or entry.get("scope", "Namespaced") == "Namespaced"


def crd_kinds_of(group: str) -> list[str]:
    """`version/Kind` pairs the CRDs define for an API group (for the message on a wrong apiVersion)."""
    return sorted(k.removeprefix(group + "/") for k in crd_schemas() if k.startswith(group + "/"))


# --- the gate ---------------------------------------------------------------------------------------------


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(root)"


def validate_object(doc: Manifest, where: str) -> list[Finding]:
    """Findings of one object; `where` prefixes the object id (an environment name)."""
    ident = f"{where}: {object_id(doc)}" if where else object_id(doc)
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [Finding(GATE, ident, "object", "has no apiVersion or kind")]
    validator: Any = None
    rule_source = ""
    if "." not in api_version.split("/")[0] or api_version.split("/")[0].endswith(".k8s.io"):
        validator = _core_validator(api_version, kind)
        rule_source = f"kubernetes {kubernetes_minor()} schema {kind} {api_version}"
    if validator is None:
        validator = _crd_validator(api_version, kind)
        rule_source = f"CRD schema {kind} {api_version}"
    if validator is None:
        group = api_version.split("/")[0] if "/" in api_version else ""
        if group in unavailable_groups():
            return [Finding(GATE, ident, "schema-unavailable",
                            f"schema unavailable: {unavailable_groups()[group]}")]
        known = crd_kinds_of(group) if group else []
        hint = f"; the pinned CRDs of {group} define: {', '.join(known)}" if known else ""
        return [Finding(GATE, ident, "unknown-kind",
                        f"no schema for kind {kind} in apiVersion {api_version} (Kubernetes "
                        f"{kubernetes_minor()}, the pinned charts' CRDs or [external_crds]){hint}")]
    findings = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        findings.append(Finding(GATE, ident, f"{rule_source}: {_path(error)}", error.message))
    return findings


def validate_documents(docs: Iterable[Manifest], where: str = "") -> list[Finding]:
    """Findings of every object of a rendered release, and of the rules across its objects (a Dapr secret
    store's apps can read through it: todo_cloud.gates.secretstore)."""
    docs = list(docs)
    return [f for doc in docs for f in validate_object(doc, where)] + secretstore.findings(docs, where)
