"""Project rules across objects, which checkov's per-resource model cannot express (`todo-cloud policy`).

- network-policy-coverage: every pod of the release is selected by a NetworkPolicy of its namespace;
- pdb-and-hpa: every workload with more than one replica (HPA: minReplicas) has a PodDisruptionBudget
  selecting its pods, and -- when our charts render it -- a HorizontalPodAutoscaler targeting it (upstream
  control planes such as Dapr's raft StatefulSets are replicated for quorum, not scaled);
- dapr-scopes: every Dapr Component and Subscription is scoped, and each scope is the app id of a
  Dapr-enabled workload of the release;
- kafka-topic-min-isr: a KafkaTopic's replicas exceed the min.insync.replicas it gets (its own config, or
  the default of the Kafka cluster it belongs to); a single-broker cluster (local) has no broker to
  lose, so its topics are exempt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from todo_cloud.gates import Finding
from todo_cloud.manifests import Manifest, ObjectKey, dapr_app_id, object_id, object_key, pod_labels, pod_spec

GATE = "project"
SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet")


def _namespace(doc: Manifest, default: str) -> str:
    return (doc.get("metadata") or {}).get("namespace") or default


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A Kubernetes LabelSelector against labels (an empty selector selects everything)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, vals = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def workloads(docs: Iterable[Manifest]) -> list[Manifest]:
    """Objects that create pods (a CronJob's pods come from its Jobs)."""
    return [d for d in docs if pod_spec(d) is not None]


def network_policy_coverage(docs: list[Manifest], namespace: str, own: set[ObjectKey]) -> list[Finding]:
    del own
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    findings = []
    for w in workloads(docs):
        ns, labels = _namespace(w, namespace), pod_labels(w)
        if not any(_namespace(p, namespace) == ns and selector_matches((p.get("spec") or {}).get("podSelector"), labels)
                   for p in policies):
            findings.append(Finding(GATE, object_id(w), "network-policy-coverage",
                                    f"no NetworkPolicy in namespace {ns} selects its pods (labels {labels})"))
    return findings


def _replicas(w: Manifest, hpa: Manifest | None) -> int:
    if hpa is not None:
        return int((hpa.get("spec") or {}).get("minReplicas", 1))
    return int((w.get("spec") or {}).get("replicas", 1))


def pdb_and_hpa(docs: list[Manifest], namespace: str, own: set[ObjectKey]) -> list[Finding]:
    hpas = [d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"]
    pdbs = [d for d in docs if d.get("kind") == "PodDisruptionBudget"]
    findings = []
    for w in (d for d in docs if d.get("kind") in SCALABLE):
        ns, name = _namespace(w, namespace), w["metadata"]["name"]
        hpa = next((h for h in hpas if _namespace(h, namespace) == ns
                    and (h.get("spec") or {}).get("scaleTargetRef", {}).get("kind") == w["kind"]
                    and (h.get("spec") or {}).get("scaleTargetRef", {}).get("name") == name), None)
        replicas = _replicas(w, hpa)
        if replicas <= 1:
            continue
        if hpa is None and object_key(w) in own:
            findings.append(Finding(GATE, object_id(w), "pdb-and-hpa",
                                    f"{replicas} replicas but no HorizontalPodAutoscaler targets {w['kind']}/{name}"))
        labels = pod_labels(w)
        if not any(_namespace(p, namespace) == ns and (p.get("spec") or {}).get("selector")
                   and selector_matches(p["spec"]["selector"], labels) for p in pdbs):
            findings.append(Finding(GATE, object_id(w), "pdb-and-hpa",
                                    f"{replicas} replicas but no PodDisruptionBudget selects its pods"))
    return findings


def dapr_app_ids(docs: list[Manifest]) -> set[str]:
    """App ids of the Dapr-enabled workloads (`dapr.io/enabled: "true"`, `dapr.io/app-id`)."""
    return {app_id for w in workloads(docs) if (app_id := dapr_app_id(w))}


def dapr_scopes(docs: list[Manifest], namespace: str, own: set[ObjectKey]) -> list[Finding]:
    del namespace, own
    app_ids = dapr_app_ids(docs)
    findings = []
    for d in docs:
        if not str(d.get("apiVersion", "")).startswith("dapr.io/") or d.get("kind") not in ("Component",
                                                                                           "Subscription"):
            continue
        scopes = d.get("scopes")
        if not scopes:
            findings.append(Finding(GATE, object_id(d), "dapr-scopes",
                                    f"scopes: empty; every Dapr app would load it (app ids: {sorted(app_ids)})"))
            continue
        for scope in scopes:
            if scope not in app_ids:
                findings.append(Finding(GATE, object_id(d), "dapr-scopes",
                                        f"scopes: {scope!r} is no app id of the release (app ids: {sorted(app_ids)})"))
    return findings


def brokers(docs: list[Manifest], namespace: str, cluster: str) -> int | None:
    """Brokers of a Strimzi cluster: the replicas of its KafkaNodePools with the broker role."""
    pools = [p for p in docs if p.get("kind") == "KafkaNodePool"
             and ((p.get("metadata") or {}).get("labels") or {}).get("strimzi.io/cluster") == cluster
             and _namespace(p, namespace) == namespace and "broker" in ((p.get("spec") or {}).get("roles") or [])]
    return sum(int((p.get("spec") or {}).get("replicas", 0)) for p in pools) if pools else None


def kafka_topic_min_isr(docs: list[Manifest], namespace: str, own: set[ObjectKey]) -> list[Finding]:
    del own
    clusters = {(_namespace(k, namespace), k["metadata"]["name"]): k for k in docs
                if k.get("kind") == "Kafka" and str(k.get("apiVersion", "")).startswith("kafka.strimzi.io/")}
    findings = []
    for t in docs:
        if t.get("kind") != "KafkaTopic" or not str(t.get("apiVersion", "")).startswith("kafka.strimzi.io/"):
            continue
        spec = t.get("spec") or {}
        cluster_name = ((t.get("metadata") or {}).get("labels") or {}).get("strimzi.io/cluster")
        cluster = clusters.get((_namespace(t, namespace), cluster_name))
        default = ((cluster or {}).get("spec") or {}).get("kafka", {}).get("config", {}).get("min.insync.replicas", 1)
        min_isr = (spec.get("config") or {}).get("min.insync.replicas", default)
        replicas = spec.get("replicas")
        if replicas is None:
            default_rf = ((cluster or {}).get("spec") or {}).get("kafka", {}).get("config", {}).get(
                "default.replication.factor")
            replicas = default_rf
        source = "its config" if "min.insync.replicas" in (spec.get("config") or {}) else (
            f"Kafka {cluster_name}" if cluster else "the broker default")
        if cluster_name and brokers(docs, _namespace(t, namespace), cluster_name) == 1:
            continue
        if replicas is None or int(replicas) <= int(min_isr):
            findings.append(Finding(GATE, object_id(t), "kafka-topic-min-isr", f"spec.replicas {replicas} must "
                                    f"exceed min.insync.replicas {min_isr} (from {source})"))
    return findings


RULES: dict[str, Callable[[list[Manifest], str, set[ObjectKey]], list[Finding]]] = {
    "network-policy-coverage": network_policy_coverage,
    "pdb-and-hpa": pdb_and_hpa,
    "dapr-scopes": dapr_scopes,
    "kafka-topic-min-isr": kafka_topic_min_isr,
}


def check_release(docs: list[Manifest], env: str, own: set[ObjectKey] | None = None,
                  namespace: str = "todo-chatbot") -> list[Finding]:
    """Every project rule over one environment's release; findings are prefixed with the environment.
    `own`: keys of the objects our charts render (default: every object counts as ours)."""
    own = {object_key(d) for d in docs} if own is None else own
    findings = []
    for rule in RULES.values():
        for f in rule(docs, namespace, own):
            findings.append(Finding(f.gate, f"{env}: {f.where}", f.rule, f.message))
    return findings
