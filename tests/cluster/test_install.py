"""The whole release installs on a real API server with the deploy command, and every object is accepted."""

from __future__ import annotations

import copy
from collections import defaultdict

import pytest
import yaml

from tests.cluster.support import Deployment
from todo_cloud.deploy import plan
from todo_cloud.render import Manifest, find

HOOK = "helm.sh/hook"
# Kinds whose objects are created by the deploy's CRD phase or by Helm itself, not part of the manifest check.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ClusterIssuer",
                  "StorageClass", "PersistentVolume", "PriorityClass", "GatewayClass"}


def _resource(doc: Manifest) -> str:
    api = str(doc["apiVersion"])
    group = api.split("/")[0] if "/" in api else ""
    return f"{doc['kind'].lower()}{'.' + group if group else ''}/{doc['metadata']['name']}"


def test_the_release_installs_with_the_deploy_command(deployment: Deployment) -> None:
    result = deployment.result
    assert result.returncode == 0, f"todo-cloud deploy --env {deployment.env.name} exited {result.returncode}:\n" \
                                   f"{result.output[-4000:]}"
    assert f"deploy {deployment.env.name}: done, healthy" in result.output


def test_the_default_wait_strategy_completes_although_no_operator_reconciles(deployment: Deployment) -> None:
    """The deploy waits with Helm 4's watcher (kstatus) by default; Kafka and its topics never get a status
    from an operator here, and the wait still completed (the deploy above passed within its timeout)."""
    assert plan.Options(values=()).wait == "watcher"
    assert deployment.result.returncode == 0, deployment.result.output[-2000:]
    kafkas = deployment.kubectl_json("get", "kafkas.kafka.strimzi.io", "-n", deployment.env.namespace)["items"]
    topics = deployment.kubectl_json("get", "kafkatopics.kafka.strimzi.io", "-n", deployment.env.namespace)["items"]
    assert kafkas and topics
    assert all(not (k.get("status") or {}).get("conditions") for k in kafkas + topics), \
        "an operator reconciled Kafka here: the simulated cluster is expected to run none"


def test_every_rendered_object_is_accepted_by_the_api_server(deployment: Deployment) -> None:
    """Each object of the release (hooks aside) exists in the cluster: the API server admitted it, schemas
    of the CRDs (OpenAPI and CEL rules) and Pod Security of its namespace included."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for doc in deployment.manifests:
        if HOOK in (doc["metadata"].get("annotations") or {}):
            continue
        ns = "" if doc["kind"] in CLUSTER_SCOPED else (doc["metadata"].get("namespace") or deployment.env.namespace)
        wanted[ns].add(_resource(doc))
    missing: list[str] = []
    for ns, resources in sorted(wanted.items()):
        types = sorted({r.split("/", 1)[0] for r in resources})
        args = ["get", ",".join(types), "-o", "name"] + (["-n", ns] if ns else [])
        got = deployment.cluster.kubectl(*args)
        found = {line.lower() for line in got.stdout.split()}
        missing += [f"{ns or '(cluster)'}/{r}" for r in sorted(resources) if r.lower() not in found]
    assert not missing, f"objects of the release not in the cluster: {missing}"


def test_pod_security_restricted_is_enforced_in_the_release_namespace(deployment: Deployment) -> None:
    ns = deployment.kubectl_json("get", "namespace", deployment.env.namespace)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "privileged-probe",
                                                           "namespace": deployment.env.namespace},
           "spec": {"containers": [{"name": "probe", "image": "registry.invalid/probe:never-pulled",
                                    "securityContext": {"privileged": True}}]}}
    got = deployment.cluster.kubectl("create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(pod), check=False)
    assert got.returncode != 0 and 'violates PodSecurity "restricted' in got.stderr, got.stderr


def test_crd_validation_rules_are_enforced(deployment: Deployment) -> None:
    """A CEL rule of the Strimzi Kafka CRD (metrics of type jmxPrometheusExporter need valueFrom) refuses a
    broken copy of the release's Kafka: the objects above passed real validation, not a permissive stand-in."""
    kafka = copy.deepcopy(find(deployment.manifests, "Kafka")[0])
    kafka["metadata"] = {"name": "cel-probe", "namespace": deployment.env.namespace}
    kafka["spec"]["kafka"]["metricsConfig"] = {"type": "jmxPrometheusExporter"}
    got = deployment.cluster.kubectl("create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(kafka),
                                     check=False)
    assert got.returncode != 0 and "valueFrom property is required" in got.stderr, got.stderr


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet"])
def test_every_workload_is_fully_available(deployment: Deployment, kind: str) -> None:
    """The rollout of each workload of the release completed: every desired replica is ready."""
    items = deployment.kubectl_json("get", kind.lower() + "s", "-A", "-l",
                                    f"app.kubernetes.io/instance={deployment.env.release}")["items"]
    items += [i for i in deployment.kubectl_json("get", kind.lower() + "s", "-A")["items"]
              if i["metadata"]["namespace"].startswith(deployment.env.namespace) and i not in items]
    expected = {d["metadata"]["name"] for d in deployment.manifests if d["kind"] == kind}
    assert {i["metadata"]["name"] for i in items} >= expected
    lagging = []
    for i in items:
        status = i.get("status") or {}
        want = status.get("desiredNumberScheduled") if kind == "DaemonSet" else (i["spec"].get("replicas") or 1)
        ready = status.get("numberReady") if kind == "DaemonSet" else status.get("readyReplicas", 0)
        if (ready or 0) < (want or 0):
            lagging.append(f"{i['metadata']['namespace']}/{i['metadata']['name']}: {ready}/{want} ready")
    assert not lagging, lagging
