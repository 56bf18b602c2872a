"""What the simulated cluster is made of besides its processes, decided without starting it: fake Nodes
shaped like the environment's node pool, the default StorageClass with pre-created volumes, permissive
stand-in CRDs for APIs no pin brings, and the kwok Stage completing bare pods."""

from __future__ import annotations

from typing import Any

from todo_cloud.cluster_shape import NodePool

# Annotation that hands a Node to kwok (kwok runs with --manage-nodes-with-annotation-selector).
KWOK_NODE = {"kwok.x-k8s.io/node": "fake"}
# Pods per node: the kubelet's default maxPods, which DOKS and kind keep.
MAX_PODS = "110"
# Default StorageClass per environment (what DOKS and kind provide), backed here by pre-created volumes.
STORAGE_CLASS = {"local": "standard"}
DOKS_STORAGE_CLASS = "do-block-storage"
VOLUMES = 24
# APIs the release uses that no pinned chart brings (installed beforehand on a real cluster, see
# docs/DEPLOYMENT.md 'Install order'): the simulation serves them with permissive stand-in CRDs.
STAND_IN_APIS = {
    ("gateway.networking.k8s.io", "v1"): [("Gateway", "gateways"), ("HTTPRoute", "httproutes"),
                                          ("GatewayClass", "gatewayclasses")],
    ("cert-manager.io", "v1"): [("Certificate", "certificates"), ("ClusterIssuer", "clusterissuers"),
                                ("Issuer", "issuers")],
    ("snapshot.storage.k8s.io", "v1"): [("VolumeSnapshot", "volumesnapshots"),
                                        ("VolumeSnapshotContent", "volumesnapshotcontents"),
                                        ("VolumeSnapshotClass", "volumesnapshotclasses")],
}
CLUSTER_SCOPED = {"GatewayClass", "ClusterIssuer", "VolumeSnapshotContent", "VolumeSnapshotClass"}


def fake_nodes(pool: NodePool) -> list[dict[str, Any]]:
    """The Node objects of a pool (todo_cloud.cluster_shape), kwok-managed (annotation), Ready once kwok
    initialises them."""
    out = []
    for i in range(pool.count):
        name = f"{pool.prefix}-{i}"
        labels = {"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
                  "type": "kwok", **pool.labels[i]}
        resources = {"cpu": pool.cpu, "memory": pool.memory, "pods": MAX_PODS}
        out.append({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": labels,
                                 "annotations": {**KWOK_NODE, "node.alpha.kubernetes.io/ttl": "0"}},
                    "status": {"allocatable": resources, "capacity": resources}})
    return out


def storage(env: str) -> list[dict[str, Any]]:
    """The default StorageClass of the environment and pre-created volumes of it (nothing provisions here)."""
    cls = STORAGE_CLASS.get(env, DOKS_STORAGE_CLASS)
    objs: list[dict[str, Any]] = [{
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": cls, "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kubernetes.io/no-provisioner", "volumeBindingMode": "Immediate",
        "reclaimPolicy": "Retain"}]
    for i in range(VOLUMES):
        objs.append({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": f"sim-volume-{i}"},
                     "spec": {"capacity": {"storage": "100Gi"}, "accessModes": ["ReadWriteOnce"],
                              "persistentVolumeReclaimPolicy": "Retain", "storageClassName": cls,
                              "hostPath": {"path": f"/var/lib/todo-sim/volume-{i}"}}})
    return objs


def stand_in_crds() -> list[dict[str, Any]]:
    """Permissive CRDs for the APIs of STAND_IN_APIS (the real ones are installed before the release)."""
    out = []
    for (group, version), kinds in STAND_IN_APIS.items():
        for kind, plural in kinds:
            out.append({
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.{group}", "labels": {"todo-sim/stand-in": "true"},
                             # *.k8s.io groups need it; the upstream Gateway API CRDs carry it too.
                             "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api"}},
                "spec": {"group": group, "scope": "Cluster" if kind in CLUSTER_SCOPED else "Namespaced",
                         "names": {"kind": kind, "plural": plural, "singular": kind.lower(),
                                   "listKind": f"{kind}List"},
                         "versions": [{"name": version, "served": True, "storage": True,
                                       "subresources": {"status": {}},
                                       "schema": {"openAPIV3Schema": {
                                           "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}})
    return out


def bare_pod_complete_stage() -> dict[str, Any]:
    """A kwok Stage completing bare pods that must run to completion (restartPolicy Never, no owner): Helm
    test pods. kwok's default stages complete only pods owned by a Job."""
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": "todo-sim-bare-pod-complete"},
        "spec": {"resourceRef": {"apiGroup": "v1", "kind": "Pod"},
                 "selector": {"matchExpressions": [
                     {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                     {"key": ".status.phase", "operator": "In", "values": ["Running"]},
                     {"key": ".spec.restartPolicy", "operator": "In", "values": ["Never"]},
                     {"key": ".metadata.ownerReferences", "operator": "DoesNotExist"}]},
                 "weight": 1, "delay": {"durationMilliseconds": 1000},
                 "next": {"statusTemplate": "phase: Succeeded\n"}}}
