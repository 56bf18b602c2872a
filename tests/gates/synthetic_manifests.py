"""Synthetic manifests for the gate tests: small, valid objects that each test breaks in one way."""

from __future__ import annotations

from typing import Any

DIGEST = "sha256:" + "a" * 64


def deployment(name: str = "web", *, replicas: int = 1, image: str = f"registry.example/web@{DIGEST}",
               labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None,
               resources: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Deployment that passes every gate unless a test changes it."""
    labels = labels or {"app.kubernetes.io/name": name}
    container: dict[str, Any] = {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "resources": resources if resources is not None else {
            "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": 10001, "capabilities": {"drop": ["ALL"]}},
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8000}},
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "todo-chatbot", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}},
                "spec": {"serviceAccountName": name, "automountServiceAccountToken": False,
                         "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                         "containers": [container]},
            },
        },
    }


def kafka_topic(name: str = "todo-events", *, replicas: int = 3, min_isr: int | None = 2,
                cluster: str = "todo-chatbot") -> dict[str, Any]:
    config = {"retention.ms": 604800000}
    if min_isr is not None:
        config["min.insync.replicas"] = min_isr
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
            "metadata": {"name": name, "namespace": "todo-chatbot", "labels": {"strimzi.io/cluster": cluster}},
            "spec": {"partitions": 3, "replicas": replicas, "config": config}}


def node_pool(replicas: int, cluster: str = "todo-chatbot") -> dict[str, Any]:
    return {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaNodePool",
            "metadata": {"name": "dual", "namespace": "todo-chatbot", "labels": {"strimzi.io/cluster": cluster}},
            "spec": {"replicas": replicas, "roles": ["controller", "broker"],
                     "storage": {"type": "persistent-claim", "size": "10Gi"}}}


def network_policy(selector: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "np", "namespace": "todo-chatbot"},
            "spec": {"podSelector": selector, "policyTypes": ["Ingress"]}}


def dapr_component(scopes: list[str] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component",
                           "metadata": {"name": "pubsub", "namespace": "todo-chatbot"},
                           "spec": {"type": "pubsub.kafka", "version": "v1",
                                    "metadata": [{"name": "brokers", "value": "kafka:9092"}]}}
    if scopes is not None:
        doc["scopes"] = scopes
    return doc


def http_route(name: str = "web") -> dict[str, Any]:
    """A Gateway API HTTPRoute of one hostname to a Service (CRD from the [external_crds] pins)."""
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": name, "namespace": "todo-chatbot"},
            "spec": {"hostnames": ["todo.example.com"], "parentRefs": [{"name": "public", "sectionName": "https"}],
                     "rules": [{"backendRefs": [{"name": name, "port": 3000}],
                                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}]}}


def certificate(name: str = "public") -> dict[str, Any]:
    """A cert-manager Certificate issued by a ClusterIssuer (CRD from the [external_crds] pins)."""
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": name, "namespace": "todo-chatbot"},
            "spec": {"dnsNames": ["todo.example.com"], "secretName": f"{name}-tls",
                     "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt"}}}
