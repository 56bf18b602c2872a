"""Who may deploy an environment and who may look at it: RBAC objects derived from the rendered release.

An administrator applies them once per cluster (`todo-cloud rbac apply`, again when a chart bump brings new
cluster-scoped objects or roles); CI then deploys with the token of the deploy ServiceAccount, never with an
admin kubeconfig. Everything lives in `<namespace>-deploy` (`identity_namespace`), a namespace no workload
of the release can read:

- **deploy** (`todo-cloud-deploy`, a ServiceAccount with a long-lived token Secret): what `todo-cloud deploy`
  does and nothing else. In each namespace the release renders objects in, a Role manages exactly those
  kinds (the release namespace also holds Helm's release records, Secrets, and the `helm test` pods' logs;
  in a namespace the environment does not own, such as kube-system, only the objects of the release by
  name). Cluster-wide: the environment's Namespaces and the pinned CRDs (server-side apply, changed by name
  only), the release's cluster-scoped objects (changed and deleted by name only), and `escalate`/`bind`
  limited by name to the release's own roles, which is how Helm may create the operators' ClusterRoles
  without the deploy identity holding all they grant. Reading Nodes and kube-system pods serves
  `todo-cloud nodes`. Never: Secrets outside the environment's namespaces, other roles, impersonation,
  tokens, exec.
- **on-call** (`todo-cloud-oncall`, tokens minted per shift by `todo-cloud rbac kubeconfig --identity
  oncall`): get, list and watch of everything in the environment's namespaces except Secrets, pod logs, and
  port-forward in the release namespace (Grafana, Prometheus, Alertmanager, Jaeger); Nodes, Namespaces,
  volumes and CRDs cluster-wide, read only.

- **Velero's server** (where the release runs Velero): Velero backs up and restores objects of every kind,
  so its ServiceAccount is bound to cluster-admin; the release does not carry that binding (the umbrella sets
  the chart's `rbac.clusterAdministrator: false`), since installing it would need `bind` on cluster-admin, with
  which the deploy identity could make itself cluster-admin. The administrator's apply grants it instead.

Decisions only (objects, kubeconfigs); the command applies them through the deploy's Runner.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from todo_cloud.envs import Environment, namespace_objects
from todo_cloud.gates.kubeschema import namespaced
from todo_cloud.manifests import Manifest

DEPLOYER = "todo-cloud-deploy"
ONCALL = "todo-cloud-oncall"
# The deploy identity's long-lived token (a Secret of type kubernetes.io/service-account-token).
TOKEN_SECRET = f"{DEPLOYER}-token"
READ = ("get", "list", "watch")
MANAGE = ("get", "list", "watch", "create", "update", "patch", "delete")
RBAC_GROUP = "rbac.authorization.k8s.io"
LABELS = {"app.kubernetes.io/part-of": "todo-chatbot-cloud", "app.kubernetes.io/managed-by": "todo-cloud-rbac"}
# What the deploy reads in every namespace of the environment besides the kinds it manages: rollouts and
# the pods behind them, events for the wait's messages.
DEPLOY_READS = (("", "pods"), ("", "events"), ("apps", "replicasets"), ("apps", "controllerrevisions"))
# ... and in the release namespace: Helm's release records (Secrets) and `helm test --logs`.
RELEASE_NAMESPACE_EXTRA: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("", "secrets", MANAGE), ("", "pods/log", ("get",)))
# What on-call reads in the environment's namespaces, besides every kind the release renders (Secrets never).
ONCALL_READS = (("", "pods"), ("", "pods/log"), ("", "services"), ("", "endpoints"), ("", "configmaps"),
                ("", "events"), ("", "persistentvolumeclaims"), ("", "serviceaccounts"),
                ("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets"),
                ("batch", "jobs"), ("batch", "cronjobs"), ("autoscaling", "horizontalpodautoscalers"),
                ("policy", "poddisruptionbudgets"), ("networking.k8s.io", "networkpolicies"),
                ("discovery.k8s.io", "endpointslices"), ("events.k8s.io", "events"))
# Cluster-scoped, read only, for on-call.
ONCALL_CLUSTER_READS = (("", "nodes"), ("", "namespaces"), ("", "persistentvolumes"),
                        ("storage.k8s.io", "storageclasses"), ("apiextensions.k8s.io", "customresourcedefinitions"),
                        ("metrics.k8s.io", "pods"), ("metrics.k8s.io", "nodes"))
NEVER_READ = "secrets"


def identity_namespace(env: Environment) -> str:
    """Where the identities of `env` live: `<release namespace>-deploy`."""
    return f"{env.namespace}-deploy"


def service_account_user(namespace: str, name: str) -> str:
    """The user name the API server gives a ServiceAccount's tokens."""
    return f"system:serviceaccount:{namespace}:{name}"


def resource_of(kind: str) -> str:
    """The API resource (plural) of a kind, as the API server names it: lower case, plural by English rule
    (Policy -> policies, Prometheus -> prometheuses, Gateway -> gateways)."""
    word = kind.lower()
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def group_of(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


@dataclass
class ReleaseShape:
    """What the releases of an environment (every profile) create, by namespace and cluster-wide."""

    namespaced: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    names: dict[str, dict[tuple[str, str], set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set)))
    cluster: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    roles: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cluster_roles: set[str] = field(default_factory=set)
    bound_cluster_roles: set[str] = field(default_factory=set)


def shape(releases: Iterable[list[Manifest]], default_namespace: str) -> ReleaseShape:
    """Kinds and names of every object of `releases` (hooks and test Jobs included: Helm creates them too)."""
    found = ReleaseShape()
    for docs in releases:
        for doc in docs:
            api, kind, meta = str(doc.get("apiVersion", "")), str(doc.get("kind", "")), doc.get("metadata") or {}
            key, name = (group_of(api), resource_of(kind)), str(meta.get("name", ""))
            if namespaced(api, kind):
                ns = meta.get("namespace") or default_namespace
                found.namespaced[ns].add(key)
                found.names[ns][key].add(name)
                if kind == "Role":
                    found.roles[ns].add(name)
            else:
                found.cluster[key].add(name)
                if kind == "ClusterRole":
                    found.cluster_roles.add(name)
            ref = doc.get("roleRef") or {}
            if kind in ("RoleBinding", "ClusterRoleBinding") and ref.get("kind") == "ClusterRole":
                found.bound_cluster_roles.add(ref["name"])
    return found


def _rules(entries: Iterable[tuple[str, str]], verbs: Iterable[str],
           names: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Rules granting `verbs` on `entries` ((group, resource)), one rule per group, resources sorted."""
    by_group: dict[str, set[str]] = defaultdict(set)
    for group, resource in entries:
        by_group[group].add(resource)
    only = {"resourceNames": sorted(names)} if names else {}
    return [{"apiGroups": [g], "resources": sorted(rs), "verbs": list(verbs), **only}
            for g, rs in sorted(by_group.items())]


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    return {"name": name, **({"namespace": namespace} if namespace else {}), "labels": dict(LABELS)}


def _subject(env: Environment, name: str) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, "namespace": identity_namespace(env)}


def _binding(kind: str, name: str, namespace: str | None, role_kind: str, role: str,
             subject: Mapping[str, str]) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind, "metadata": _meta(name, namespace),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role}, "subjects": [dict(subject)]}


def _role(kind: str, name: str, namespace: str | None, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind, "metadata": _meta(name, namespace), "rules": rules}


def deploy_cluster_rules(env: Environment, found: ReleaseShape, crd_names: Iterable[str]) -> list[dict[str, Any]]:
    """The deploy identity's cluster-wide rules."""
    rules = [*_rules([("", "namespaces")], (*READ, "create")),
             *_rules([("", "namespaces")], ("update", "patch"), env.namespaces),
             *_rules([("apiextensions.k8s.io", "customresourcedefinitions")], (*READ, "create")),
             *_rules([("apiextensions.k8s.io", "customresourcedefinitions")], ("update", "patch"), crd_names)]
    for key, names in sorted(found.cluster.items()):
        rules += _rules([key], (*READ, "create"))
        rules += _rules([key], ("update", "patch", "delete"), names)
    if found.cluster_roles:
        rules += _rules([(RBAC_GROUP, "clusterroles")], ("escalate",), found.cluster_roles)
    if found.bound_cluster_roles:
        rules += _rules([(RBAC_GROUP, "clusterroles")], ("bind",), found.bound_cluster_roles)
    rules += _rules([("", "nodes")], ("get", "list"))
    return rules


def deploy_namespace_rules(env: Environment, namespace: str, found: ReleaseShape,
                           secret_namespaces: Iterable[str]) -> list[dict[str, Any]]:
    """The deploy identity's rules in one namespace: the kinds the release renders there (by name only in a
    namespace the environment does not own), what the deploy reads, Helm's records in the release namespace,
    and `escalate`/`bind` on the release's Roles there."""
    kinds = found.namespaced.get(namespace, set())
    rules: list[dict[str, Any]] = []
    if namespace in env.namespaces:
        rules += _rules(kinds, MANAGE)
        rules += _rules(DEPLOY_READS, READ)
        if namespace == env.namespace:
            for group, resource, verbs in RELEASE_NAMESPACE_EXTRA:
                rules += _rules([(group, resource)], verbs)
        elif namespace in secret_namespaces:
            rules += _rules([("", "secrets")], ("get", "list"))
    else:
        for key in sorted(kinds):
            rules += _rules([key], (*READ, "create"))
            rules += _rules([key], ("update", "patch", "delete"), found.names[namespace][key])
    if found.roles.get(namespace):
        rules += _rules([(RBAC_GROUP, "roles")], ("escalate", "bind"), found.roles[namespace])
    return rules


def oncall_rules(found: ReleaseShape, crd_groups: Iterable[str]) -> list[dict[str, Any]]:
    """On-call's rules in each namespace of the environment: read everything but Secrets."""
    builtin = {k for kinds in found.namespaced.values() for k in kinds if "." not in k[0] or k[0].endswith(".k8s.io")}
    custom = {g for kinds in found.namespaced.values() for g, _ in kinds if "." in g and not g.endswith(".k8s.io")}
    entries = {k for k in (*ONCALL_READS, *builtin) if k[1] != NEVER_READ}
    return [*_rules(entries, READ), *_rules([(g, "*") for g in sorted(custom | set(crd_groups))], READ)]


VELERO_SERVER = "velero"  # the Deployment of the Velero chart's server


def velero_binding(releases: Iterable[list[Manifest]], default_namespace: str) -> list[dict[str, Any]]:
    """The ClusterRoleBinding of Velero's server ServiceAccount to cluster-admin, for each Velero server
    Deployment of `releases` (none without Velero; a Deployment without a namespace is in `default_namespace`)."""
    subjects = {}
    for docs in releases:
        for doc in docs:
            meta = doc.get("metadata") or {}
            if doc.get("kind") == "Deployment" and meta.get("name") == VELERO_SERVER:
                account = ((doc.get("spec") or {}).get("template") or {}).get("spec", {}).get("serviceAccountName")
                if account:
                    subjects[(str(meta.get("namespace") or default_namespace), str(account))] = None
    return [_binding("ClusterRoleBinding", f"{namespace}-velero-server", None, "ClusterRole", "cluster-admin",
                     {"kind": "ServiceAccount", "name": account, "namespace": namespace})
            for namespace, account in sorted(subjects)]


def objects(env: Environment, releases: Iterable[list[Manifest]], crds: Iterable[Mapping[str, Any]],
            secret_namespaces: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every object of the deploy and on-call identities of `env`, in apply order: namespaces (the
    environment's, with their Pod Security labels, and the identities'), ServiceAccounts and the deploy
    token, roles, bindings. `releases` are the environment's rendered releases (every profile), `crds` the
    pinned CRDs the deploy applies, `secret_namespaces` where the Secrets the release needs live."""
    releases = [list(docs) for docs in releases]
    found = shape(releases, env.namespace)
    crds = list(crds)
    crd_names = [str(c["metadata"]["name"]) for c in crds]
    crd_groups = sorted({str(c["spec"]["group"]) for c in crds})
    home = identity_namespace(env)
    secret_namespaces = set(secret_namespaces)
    out: list[dict[str, Any]] = [
        *namespace_objects(env),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": home, "labels": {
            **{f"pod-security.kubernetes.io/{m}": "restricted" for m in ("enforce", "audit", "warn")}, **LABELS}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(DEPLOYER, home),
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": {**_meta(TOKEN_SECRET, home), "annotations": {"kubernetes.io/service-account.name": DEPLOYER}}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(ONCALL, home),
         "automountServiceAccountToken": False},
        _role("ClusterRole", DEPLOYER, None, deploy_cluster_rules(env, found, crd_names)),
        _binding("ClusterRoleBinding", DEPLOYER, None, "ClusterRole", DEPLOYER, _subject(env, DEPLOYER)),
    ]
    for ns in sorted(set(env.namespaces) | set(found.namespaced)):
        rules = deploy_namespace_rules(env, ns, found, secret_namespaces)
        if rules:
            out += [_role("Role", DEPLOYER, ns, rules),
                    _binding("RoleBinding", DEPLOYER, ns, "Role", DEPLOYER, _subject(env, DEPLOYER))]
    # `todo-cloud nodes` (the deploy's last step) reads the kube-system pods.
    out += [_role("Role", f"{DEPLOYER}-nodes", "kube-system", _rules([("", "pods")], ("get", "list"))),
            _binding("RoleBinding", f"{DEPLOYER}-nodes", "kube-system", "Role", f"{DEPLOYER}-nodes",
                     _subject(env, DEPLOYER))]
    out += [_role("ClusterRole", ONCALL, None, oncall_rules(found, crd_groups)),
            _role("ClusterRole", f"{ONCALL}-cluster", None, _rules(ONCALL_CLUSTER_READS, READ)),
            _role("ClusterRole", f"{ONCALL}-portforward", None, _rules([("", "pods/portforward")], ("get", "create"))),
            _binding("ClusterRoleBinding", f"{ONCALL}-cluster", None, "ClusterRole", f"{ONCALL}-cluster",
                     _subject(env, ONCALL))]
    for ns in sorted(env.namespaces):
        out.append(_binding("RoleBinding", ONCALL, ns, "ClusterRole", ONCALL, _subject(env, ONCALL)))
    out.append(_binding("RoleBinding", f"{ONCALL}-portforward", env.namespace, "ClusterRole", f"{ONCALL}-portforward",
                        _subject(env, ONCALL)))
    return out + velero_binding(releases, env.namespace)


def kubeconfig(env: Environment, server: str, ca_data: str, user: str, token: str) -> dict[str, Any]:
    """A kubeconfig for one identity on the environment's cluster, its context named as the deploy insists
    (config/environments.yaml `kubeContext`)."""
    ctx = env.kube_context
    return {"apiVersion": "v1", "kind": "Config", "current-context": ctx, "preferences": {},
            "clusters": [{"name": ctx, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": user}}]}
