"""Release rule of `todo-cloud validate`: an app that opts in to a Dapr Kubernetes secret store can use it.

The secret store (charts/platform, `dapr.secretstore`) is off by default: the apps read their Secrets as
mounted files and component secretKeyRefs are resolved by the Dapr operator, so no pod needs an API token.
The store and the app's token and Role live in different charts, so no template sees both; this rule
checks the rendered release instead. For every `secretstores.kubernetes` Component:
- it has scopes (an unscoped store is readable by every app's sidecar);
- each scoped app's pods (pod annotation dapr.io/app-id) mount their service-account token, which the
  sidecar reads secrets with, and a Role or ClusterRole bound to that ServiceAccount grants `get` on secrets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from todo_cloud.gates import Finding
from todo_cloud.manifests import Manifest, dapr_app_id, object_id, pod_spec

GATE = "validate"
STORE_TYPE = "secretstores.kubernetes"


def dapr_workloads(docs: Sequence[Manifest], app_id: str) -> Iterator[Manifest]:
    """Workloads whose pods get a Dapr sidecar with this app id."""
    for doc in docs:
        if pod_spec(doc) is not None and dapr_app_id(doc) == app_id:
            yield doc


def _same_namespace(a: str | None, b: str | None) -> bool:
    """Namespaces match; an unset one is the release's namespace (helm template leaves most unset)."""
    return a is None or b is None or a == b


def _named(docs: Sequence[Manifest], kind: str, name: str, namespace: str | None) -> Manifest | None:
    for doc in docs:
        meta = doc.get("metadata") or {}
        if doc.get("kind") == kind and meta.get("name") == name and _same_namespace(meta.get("namespace"), namespace):
            return doc
    return None


def mounts_token(docs: Sequence[Manifest], workload: Manifest) -> bool:
    """Whether the pods get their ServiceAccount's API token (the pod's setting wins over the account's)."""
    spec = pod_spec(workload) or {}
    if "automountServiceAccountToken" in spec:
        return bool(spec["automountServiceAccountToken"])
    account = _named(docs, "ServiceAccount", spec.get("serviceAccountName") or "default",
                     (workload.get("metadata") or {}).get("namespace"))
    return bool((account or {}).get("automountServiceAccountToken", True))


def _grants_secret_get(role: Manifest) -> bool:
    return any(({"secrets", "*"} & set(rule.get("resources") or [])) and ({"get", "*"} & set(rule.get("verbs") or []))
               and ({"", "*"} & set(rule.get("apiGroups") or [])) for rule in role.get("rules") or [])


def reads_secrets(docs: Sequence[Manifest], workload: Manifest) -> bool:
    """Whether a (Cluster)Role bound to the workload's ServiceAccount grants `get` on Secrets."""
    account = (pod_spec(workload) or {}).get("serviceAccountName") or "default"
    namespace = (workload.get("metadata") or {}).get("namespace")
    for binding in docs:
        if binding.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == account
                   and _same_namespace(s.get("namespace"), namespace) for s in binding.get("subjects") or []):
            continue
        ref: dict[str, Any] = binding.get("roleRef") or {}
        role = _named(docs, ref.get("kind", ""), ref.get("name", ""),
                      None if ref.get("kind") == "ClusterRole" else (binding.get("metadata") or {}).get("namespace"))
        if role is not None and _grants_secret_get(role):
            return True
    return False


def findings(docs: Sequence[Manifest], where: str = "") -> list[Finding]:
    """Findings of every Dapr Kubernetes secret store of a release and of the apps it is scoped to."""
    out: list[Finding] = []
    prefix = f"{where}: " if where else ""
    for store in docs:
        if store.get("kind") != "Component" or not str(store.get("apiVersion", "")).startswith("dapr.io/") \
                or (store.get("spec") or {}).get("type") != STORE_TYPE:
            continue
        name = (store.get("metadata") or {}).get("name")
        scopes = store.get("scopes") or []
        if not scopes:
            out.append(Finding(GATE, prefix + object_id(store), "dapr-secretstore-scopes",
                               f"Dapr secret store {name} has no scopes: every app's sidecar could read Secrets "
                               "through it; scope it to the apps that opt in (dapr.secretstore.scopes)"))
        for app_id in scopes:
            for workload in dapr_workloads(docs, app_id):
                ident = prefix + object_id(workload)
                if not mounts_token(docs, workload):
                    out.append(Finding(GATE, ident, "dapr-secretstore-token",
                                       f"Dapr secret store {name} is scoped to app {app_id}, but its pods mount no "
                                       "API token for the sidecar to read Secrets with (set the component's "
                                       "serviceAccount.automountToken, or take the app out of the store's scopes)"))
                if not reads_secrets(docs, workload):
                    out.append(Finding(GATE, ident, "dapr-secretstore-role",
                                       f"Dapr secret store {name} is scoped to app {app_id}, but no Role bound to its "
                                       "ServiceAccount grants get on Secrets (set the component's "
                                       "serviceAccount.readSecrets, or take the app out of the store's scopes)"))
    return out
