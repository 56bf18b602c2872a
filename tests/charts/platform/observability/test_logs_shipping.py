"""Log shipping as each environment installs it: Grafana Alloy, one pod per node in the node-level namespace,
discovers the release namespace's pods, tails their files under /var/log/pods and pushes to this release's
Loki; its own metrics are scraped by this release's Prometheus, and the NetworkPolicies let both through."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from todo_cloud import envs
from todo_cloud.gates.project import selector_matches
from todo_cloud.manifests import pod_labels, pod_spec
from todo_cloud.render import Manifest, find, get

ALLOY = "todo-chatbot-alloy"
PROMETHEUS = "todo-chatbot-kube-promethe-prometheus"


def namespaces(env_name: str) -> dict[str, str]:
    """The namespaces the deploy creates for an environment, with their Pod Security level."""
    return envs.get(env_name).namespaces


def node_namespace(env_name: str) -> str:
    """The privileged namespace of the node-level agents (config/environments.yaml)."""
    levels = namespaces(env_name)
    [name] = [n for n, level in levels.items() if level == "privileged"]
    return name


def in_namespace(docs: list[Manifest], namespace: str, release_namespace: str) -> list[Manifest]:
    """Objects rendered into `namespace` (no metadata.namespace: the release namespace)."""
    return [d for d in docs if (d.get("metadata", {}).get("namespace") or release_namespace) == namespace]


def block(config: str, header: str) -> str:
    """The body of the Alloy block `header` (e.g. `loki.write "loki"`), braces balanced."""
    start = config.index(header + " {") + len(header) + 2
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(config[i], 0)
        i += 1
    return config[start:i - 1]


def rules(relabel: str) -> list[dict[str, str]]:
    """The `rule { ... }` blocks of a discovery.relabel body, as attribute -> raw value."""
    return [dict(re.findall(r"(\w+)\s*=\s*(.+)", body)) for body in re.findall(r"rule\s*\{([^}]*)\}", relabel)]


@pytest.fixture(scope="module")
def alloy(release: list[Manifest]) -> Manifest:
    return get(release, "DaemonSet", ALLOY)


@pytest.fixture(scope="module")
def config(release: list[Manifest]) -> str:
    return get(release, "ConfigMap", ALLOY)["data"]["config.alloy"]


def test_alloy_runs_one_pod_per_node_in_the_node_namespace(release: list[Manifest], env_name: str) -> None:
    node_ns = node_namespace(env_name)
    assert node_ns == f"{envs.get(env_name).namespace}-node"
    for kind in ("DaemonSet", "ConfigMap", "Service", "ServiceAccount", "ServiceMonitor"):
        assert get(release, kind, ALLOY)["metadata"]["namespace"] == node_ns, kind
    assert not find(release, "Deployment", ALLOY) and not find(release, "StatefulSet", ALLOY)


def test_alloy_pushes_to_the_loki_service_of_this_release(release: list[Manifest], config: str,
                                                           env_name: str) -> None:
    env = envs.get(env_name)
    url = urlsplit(re.search(r'url\s*=\s*"([^"]+)"', block(config, 'loki.write "loki"')).group(1))
    service_name, namespace, *rest = url.hostname.split(".")
    assert (namespace, rest, url.path) == (env.namespace, ["svc", "cluster", "local"], "/loki/api/v1/push")
    service = get(in_namespace(release, env.namespace, env.namespace), "Service", service_name)
    assert url.port in {p["port"] for p in service["spec"]["ports"]}
    loki = get(release, "StatefulSet", f"{env.release}-loki")
    assert selector_matches({"matchLabels": service["spec"]["selector"]}, pod_labels(loki))
    assert "loki.write.loki.receiver" in block(config, 'loki.process "pod_logs"')


def test_alloy_discovers_the_pods_of_the_release_namespace_on_its_own_node(alloy: Manifest, config: str,
                                                                           env_name: str) -> None:
    discovery = block(config, 'discovery.kubernetes "pods"')
    assert re.search(r'role\s*=\s*"pod"', discovery)
    assert re.findall(r'names\s*=\s*\[([^]]*)\]', discovery) == [f'"{envs.get(env_name).namespace}"']
    assert re.search(r'field\s*=\s*"spec\.nodeName="\s*\+\s*sys\.env\("HOSTNAME"\)', discovery)
    [container] = [c for c in pod_spec(alloy)["containers"] if c["name"] == "alloy"]
    hostname = next(e for e in container["env"] if e["name"] == "HOSTNAME")
    assert hostname["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"


def test_alloy_tails_the_container_log_files_of_the_node(alloy: Manifest, config: str) -> None:
    path_rule = next(r for r in rules(block(config, 'discovery.relabel "pod_logs"')) if r["target_label"] ==
                     '"__path__"')
    assert path_rule["source_labels"] == '["__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"]'
    assert (path_rule["separator"], path_rule["replacement"]) == ('"/"', '"/var/log/pods/*$1/*.log"')
    spec = pod_spec(alloy)
    [varlog] = [v for v in spec["volumes"] if "hostPath" in v]
    assert varlog["hostPath"]["path"] == "/var/log"
    [container] = [c for c in spec["containers"] if c["name"] == "alloy"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == varlog["name"]]
    assert (mount["mountPath"], mount["readOnly"]) == ("/var/log", True)
    assert "stage.cri {}" in block(config, 'loki.process "pod_logs"')


def test_read_positions_survive_a_container_restart(alloy: Manifest) -> None:
    spec = pod_spec(alloy)
    [container] = [c for c in spec["containers"] if c["name"] == "alloy"]
    [storage_path] = [a.split("=", 1)[1] for a in container["args"] if a.startswith("--storage.path=")]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == storage_path]
    [volume] = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["emptyDir"] == {}


def test_stream_labels_are_namespace_pod_container_and_app(config: str) -> None:
    labels = {r["target_label"]: r["source_labels"] for r in rules(block(config, 'discovery.relabel "pod_logs"'))
              if r["target_label"] != '"__path__"'}
    assert labels == {
        '"namespace"': '["__meta_kubernetes_namespace"]',
        '"pod"': '["__meta_kubernetes_pod_name"]',
        '"container"': '["__meta_kubernetes_pod_container_name"]',
        '"app"': '["__meta_kubernetes_pod_label_app_kubernetes_io_name"]',
    }
    assert re.search(r'values\s*=\s*\["filename"\]', block(config, "stage.label_drop"))


def test_trace_id_of_json_lines_is_kept_as_structured_metadata_not_as_a_label(config: str) -> None:
    process = block(config, 'loki.process "pod_logs"')
    assert re.search(r'expressions\s*=\s*\{trace_id\s*=\s*"trace_id\b[^"]*"\}', block(process, "stage.json"))
    assert re.search(r'values\s*=\s*\{trace_id\s*=\s*""\}', block(process, "stage.structured_metadata"))
    assert "stage.labels" not in process


def test_alloy_requests_are_small_and_its_memory_is_limited(alloy: Manifest) -> None:
    [container] = pod_spec(alloy)["containers"]
    assert container["resources"]["requests"] == {"cpu": "50m", "memory": "96Mi"}
    assert container["resources"]["limits"]["memory"] == "256Mi"


def test_alloy_runs_without_root_privileges(alloy: Manifest) -> None:
    spec = pod_spec(alloy)
    assert not (spec.get("hostNetwork") or spec.get("hostPID"))
    context = spec["containers"][0]["securityContext"]
    assert context["runAsNonRoot"] is True and context["runAsUser"] > 0
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == ["ALL"]


def test_alloy_may_read_only_the_pods_of_the_release_namespace(release: list[Manifest], env_name: str) -> None:
    assert not find(release, "ClusterRole", ALLOY) and not find(release, "ClusterRoleBinding", ALLOY)
    role = get(release, "Role", ALLOY)
    assert role["metadata"]["namespace"] == envs.get(env_name).namespace
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    binding = get(release, "RoleBinding", ALLOY)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": ALLOY, "namespace": node_namespace(env_name)}]


@pytest.mark.parametrize(("monitor", "workload"), [
    ("todo-chatbot-alloy", "todo-chatbot-alloy"),
    ("todo-chatbot-prometheus-node-exporter", "todo-chatbot-prometheus-node-exporter"),
])
def test_node_agent_metrics_are_scraped_by_this_release_prometheus(release: list[Manifest], env_name: str,
                                                                   monitor: str, workload: str) -> None:
    node_ns = node_namespace(env_name)
    prometheus = get(release, "Prometheus", PROMETHEUS)["spec"]
    sm = get(release, "ServiceMonitor", monitor)
    assert sm["metadata"]["namespace"] == node_ns
    assert selector_matches(prometheus["serviceMonitorSelector"], sm["metadata"]["labels"])
    assert selector_matches(prometheus["serviceMonitorNamespaceSelector"], {"kubernetes.io/metadata.name": node_ns})
    assert sm["spec"].get("namespaceSelector", {}).get("matchNames", [node_ns]) == [node_ns]
    services = [s for s in in_namespace(release, node_ns, envs.get(env_name).namespace) if s["kind"] == "Service"
                and selector_matches(sm["spec"]["selector"], s["metadata"].get("labels") or {})]
    assert len(services) == 1, [s["metadata"]["name"] for s in services]
    ports = {p.get("name") for p in services[0]["spec"]["ports"]}
    assert {e["port"] for e in sm["spec"]["endpoints"]} <= ports
    daemonset = get(release, "DaemonSet", workload)
    assert selector_matches({"matchLabels": services[0]["spec"]["selector"]}, pod_labels(daemonset))


def policies_for(release: list[Manifest], namespace: str, release_ns: str, labels: dict[str, str]) -> list[dict]:
    """NetworkPolicies of `namespace` that select pods with `labels` (traffic passes when any of them allows it:
    policies add up)."""
    return [p for p in in_namespace(release, namespace, release_ns)
            if p["kind"] == "NetworkPolicy" and selector_matches(p["spec"]["podSelector"], labels)]


def peer_admits(peer: dict, policy_ns: str, namespace: str, labels: dict[str, str]) -> bool:
    """Whether a NetworkPolicy peer (podSelector / namespaceSelector) covers a pod of `namespace`."""
    if "ipBlock" in peer:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace}):
            return False
    elif namespace != policy_ns:
        return False
    return selector_matches(peer.get("podSelector"), labels)


def allowed(policy: dict, direction: str, namespace: str, labels: dict[str, str], port: int) -> bool:
    """Whether one of the policy's ingress (`from`) or egress (`to`) rules lets that pod through on `port`."""
    key = "from" if direction == "ingress" else "to"
    ns = policy["metadata"].get("namespace")
    for rule in policy["spec"].get(direction) or []:
        if rule.get("ports") and port not in {p.get("port") for p in rule["ports"]}:
            continue
        if key not in rule or any(peer_admits(peer, ns, namespace, labels) for peer in rule[key]):
            return True
    return False


def with_namespace(policies: list[dict], namespace: str) -> list[dict]:
    return [{**p, "metadata": {**p["metadata"], "namespace": p["metadata"].get("namespace") or namespace}}
            for p in policies]


def test_loki_accepts_pushes_from_alloy_and_alloy_may_send_them(release: list[Manifest], alloy: Manifest,
                                                                env_name: str) -> None:
    ns, node_ns = envs.get(env_name).namespace, node_namespace(env_name)
    loki = pod_labels(get(release, "StatefulSet", "todo-chatbot-loki"))
    shipper = pod_labels(alloy)
    into_loki = with_namespace(policies_for(release, ns, ns, loki), ns)
    assert into_loki and any(allowed(p, "ingress", node_ns, shipper, 3100) for p in into_loki)
    out_of_alloy = with_namespace(policies_for(release, node_ns, ns, shipper), node_ns)
    assert out_of_alloy and any(allowed(p, "egress", ns, loki, 3100) for p in out_of_alloy)


def test_loki_refuses_an_alloy_lookalike_from_another_namespace(release: list[Manifest], alloy: Manifest) -> None:
    loki = pod_labels(get(release, "StatefulSet", "todo-chatbot-loki"))
    into_loki = with_namespace(policies_for(release, "todo-chatbot", "todo-chatbot", loki), "todo-chatbot")
    assert not any(allowed(p, "ingress", "default", pod_labels(alloy), 3100) for p in into_loki)


def test_prometheus_may_scrape_alloy_and_node_exporter(release: list[Manifest], alloy: Manifest,
                                                       env_name: str) -> None:
    ns, node_ns = envs.get(env_name).namespace, node_namespace(env_name)
    prometheus = {"app.kubernetes.io/name": "prometheus"}
    exporter = get(release, "DaemonSet", "todo-chatbot-prometheus-node-exporter")
    [alloy_port] = [p["containerPort"] for p in pod_spec(alloy)["containers"][0]["ports"]
                    if p["name"] == "http-metrics"]
    [exporter_port] = {p["containerPort"] for c in pod_spec(exporter)["containers"] for p in c.get("ports", [])}
    out_of_prometheus = with_namespace(policies_for(release, ns, ns, prometheus), ns)
    assert out_of_prometheus
    for target, port in ((pod_labels(alloy), alloy_port), (pod_labels(exporter), exporter_port)):
        assert any(allowed(p, "egress", node_ns, target, port) for p in out_of_prometheus), port
        into_target = with_namespace(policies_for(release, node_ns, ns, target), node_ns)
        assert into_target and any(allowed(p, "ingress", ns, prometheus, port) for p in into_target), port
