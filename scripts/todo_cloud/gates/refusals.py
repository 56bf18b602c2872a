"""What the API server, Strimzi or Kafka would refuse (or a cluster would quietly never do) once installed,
found in the rendered release first (`todo-cloud validate`). Every rule reads the objects of one
environment, whichever chart made them (upstream ones too, configured by our values), and returns findings
that name the object, the path inside it and what would refuse it. Our own charts refuse the same input at
render time, naming the values key (their _validate.tpl guards); these rules are the net behind them and
hold what no single chart sees (one object against another).

- resources: a limit below its request, or a quantity the API server cannot read (containers, the Dapr
  sidecar's annotations, and the `resources` of custom resources such as Strimzi's);
- network-policy-blocks: an ipBlock that is not a network, or whose `except` is not inside its `cidr`;
- ports: container, Service and NetworkPolicy ports outside 1-65535 or badly named, a port name used twice
  in one container, two containers of one name;
- probe-ports: a probe on a named port its container does not declare (the kubelet fails it forever), and
  on our own charts' containers a port number they do not declare;
- volume-mounts: a mount of a volume the pod does not have;
- hpa-bounds: minReplicas above maxReplicas;
- pdb-evictions: a PodDisruptionBudget that allows no eviction at the workload's minimum replicas (every
  node drain, so every DOKS upgrade, blocks on it);
- kafka-listeners: listeners sharing a name or a port, or on a port Strimzi forbids (below 9092, 9404, 9999);
- kafka-topics: a KafkaTopic of no Kafka cluster of the release, with more replicas than brokers, or with a
  configuration key or value the pinned Kafka does not accept (charts/platform/kafka/topic-configs.yaml,
  generated from its jars);
- dapr-subscriptions: a Subscription to a topic (or dead-letter topic) the platform declares no KafkaTopic
  for, or through a pub/sub component the release does not have; an app told to expect a topic
  (SUBSCRIBED_TOPICS) that no Subscription delivers to it;
- kafka-peers: a NetworkPolicy naming a Strimzi cluster the release does not have, or (our app chart's)
  reaching it on ports none of its listeners use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

from todo_cloud import yamlfile
from todo_cloud.gates import Finding
from todo_cloud.gates.project import SCALABLE, brokers, selector_matches
from todo_cloud.manifests import (
    Manifest,
    chart_of,
    containers,
    object_id,
    pod_annotations,
    pod_labels,
    pod_spec,
    quantity,
)
from todo_cloud.paths import CHARTS

GATE = "refusals"
TOPIC_CATALOGUE = CHARTS / "platform" / "kafka" / "topic-configs.yaml"
OWN_CHARTS = frozenset({"app", "platform"})
# Strimzi's ListenersValidator: the lowest listener port, and the ones its own containers use.
KAFKA_LOWEST_PORT = 9092
KAFKA_FORBIDDEN_PORTS = frozenset({9404, 9999})
# An IANA service name, what Kubernetes accepts as a port name.
PORT_NAME = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$")
# The Dapr sidecar's resources as pod annotations: (request, limit) per resource.
DAPR_SIDECAR = {"cpu": ("dapr.io/sidecar-cpu-request", "dapr.io/sidecar-cpu-limit"),
                "memory": ("dapr.io/sidecar-memory-request", "dapr.io/sidecar-memory-limit")}

Rule = Callable[[list[Manifest], str], list[Finding]]


def _ns(doc: Manifest, default: str) -> str:
    return (doc.get("metadata") or {}).get("namespace") or default


def _finding(doc: Manifest, namespace: str, rule: str, message: str) -> Finding:
    return Finding(GATE, object_id(doc, namespace), rule, message)


# --- resources -----------------------------------------------------------------------------------------


def _resource_blocks(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, block) of every `resources: {requests, limits}` below `node`; containers named by name."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f"{path}.{key}" if path else str(key)
            if key == "resources" and isinstance(value, dict) and ("limits" in value or "requests" in value):
                yield sub, value
            else:
                yield from _resource_blocks(value, sub)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            label = item.get("name") if isinstance(item, dict) and "name" in item else i
            yield from _resource_blocks(item, f"{path}[{label}]")


def _compare(requests: dict[str, Any], limits: dict[str, Any], where: str) -> list[str]:
    problems = []
    for name, value in {**requests, **limits}.items():
        try:
            quantity(value)
        except ValueError:
            problems.append(f"{where}: {name} {value!r} is not a Kubernetes quantity")
    for name, limit in limits.items():
        if name in requests:
            try:
                if quantity(limit) < quantity(requests[name]):
                    problems.append(f"{where}.limits.{name} {limit} is below its request {requests[name]}: the "
                                    "API server refuses a container whose limit is below its request")
            except ValueError:
                continue
    return problems


def resources(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    for doc in docs:
        for path, block in _resource_blocks(doc.get("spec") or {}, "spec"):
            for problem in _compare(block.get("requests") or {}, block.get("limits") or {}, path):
                found.append(_finding(doc, namespace, "resources", problem))
        notes = pod_annotations(doc)
        requests = {r: notes[req] for r, (req, _) in DAPR_SIDECAR.items() if notes.get(req)}
        limits = {r: notes[lim] for r, (_, lim) in DAPR_SIDECAR.items() if notes.get(lim)}
        for problem in _compare(requests, limits, "the Dapr sidecar (dapr.io/sidecar-* annotations)"):
            found.append(_finding(doc, namespace, "resources", problem + " (the sidecar injector builds that pod)"))
    return found


# --- network policies and ports -------------------------------------------------------------------------


def network_policy_blocks(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    for doc in (d for d in docs if d.get("kind") == "NetworkPolicy"):
        spec = doc.get("spec") or {}
        for direction, side in (("ingress", "from"), ("egress", "to")):
            for i, rule in enumerate(spec.get(direction) or []):
                for j, peer in enumerate(rule.get(side) or []):
                    block = peer.get("ipBlock")
                    if not block:
                        continue
                    where = f"spec.{direction}[{i}].{side}[{j}].ipBlock"
                    try:
                        net = ipaddress.ip_network(str(block.get("cidr")), strict=False)
                    except ValueError:
                        found.append(_finding(doc, namespace, "network-policy-blocks",
                                              f"{where}.cidr {block.get('cidr')!r} is not a CIDR"))
                        continue
                    if str(net) != str(block["cidr"]):
                        found.append(_finding(doc, namespace, "network-policy-blocks",
                                              f"{where}.cidr {block['cidr']} has host bits set (the network is {net})"))
                    for k, text in enumerate(block.get("except") or []):
                        try:
                            inner = ipaddress.ip_network(str(text), strict=False)
                        except ValueError:
                            found.append(_finding(doc, namespace, "network-policy-blocks",
                                                  f"{where}.except[{k}] {text!r} is not a CIDR"))
                            continue
                        inside = inner.version == net.version and inner.subnet_of(net)  # type: ignore[arg-type]
                        if not inside or inner == net:
                            found.append(_finding(doc, namespace, "network-policy-blocks",
                                                  f"{where}.except[{k}] {text} is not inside cidr {block['cidr']}: "
                                                  "the API server refuses an except outside (or equal to) its cidr"))
    return found


def _port_problem(port: Any, what: str) -> str | None:
    if isinstance(port, bool):
        return f"{what} {port!r} is not a port"
    if isinstance(port, int):
        return None if 1 <= port <= 65535 else f"{what} {port} is outside 1-65535"
    if isinstance(port, str) and PORT_NAME.match(port):
        return None
    return f"{what} {port!r} is neither a port number (1-65535) nor a port name (IANA service name, <= 15 characters)"


def ports(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is not None:
            seen: set[str] = set()
            for c in containers(doc):
                if c.get("name") in seen:
                    found.append(_finding(doc, namespace, "ports", f"two containers are named {c.get('name')!r}"))
                seen.add(str(c.get("name")))
                names: set[str] = set()
                for p in c.get("ports") or []:
                    if problem := _port_problem(p.get("containerPort"), f"container {c.get('name')} containerPort"):
                        found.append(_finding(doc, namespace, "ports", problem))
                    if "name" in p:
                        if problem := _port_problem(str(p["name"]), f"container {c.get('name')} port name"):
                            found.append(_finding(doc, namespace, "ports", problem))
                        if p["name"] in names:
                            found.append(_finding(doc, namespace, "ports",
                                                  f"container {c.get('name')} names two ports {p['name']!r}"))
                        names.add(p["name"])
        if doc.get("kind") == "Service":
            for p in (doc.get("spec") or {}).get("ports") or []:
                for key in ("port", "targetPort"):
                    if key in p and (problem := _port_problem(p[key], f"spec.ports[{p.get('name', '?')}].{key}")):
                        found.append(_finding(doc, namespace, "ports", problem))
        if doc.get("kind") == "NetworkPolicy":
            spec = doc.get("spec") or {}
            for direction in ("ingress", "egress"):
                for i, rule in enumerate(spec.get(direction) or []):
                    for j, p in enumerate(rule.get("ports") or []):
                        where = f"spec.{direction}[{i}].ports[{j}]"
                        if "port" in p and (problem := _port_problem(p["port"], f"{where}.port")):
                            found.append(_finding(doc, namespace, "ports", problem))
                        if "endPort" in p and (not isinstance(p.get("port"), int) or p["endPort"] < p["port"]):
                            found.append(_finding(doc, namespace, "ports", f"{where}.endPort {p['endPort']} needs a "
                                                  "numeric port at or below it"))
                        if p.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                            found.append(_finding(doc, namespace, "ports",
                                                  f"{where}.protocol {p['protocol']!r} is not TCP, UDP or SCTP"))
    return found


def _probe_ports(c: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        handler = c.get(probe) or {}
        for kind in ("httpGet", "tcpSocket", "grpc"):
            if kind in handler and "port" in handler[kind]:
                yield f"{probe}.{kind}.port", handler[kind]["port"]


def probe_ports(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    for doc in docs:
        if pod_spec(doc) is None:
            continue
        own = chart_of(doc) in OWN_CHARTS
        for c in containers(doc):
            declared = c.get("ports") or []
            names = {p.get("name") for p in declared if p.get("name")}
            numbers = {p.get("containerPort") for p in declared}
            for where, port in _probe_ports(c):
                if isinstance(port, str) and port not in names:
                    found.append(_finding(doc, namespace, "probe-ports", f"container {c.get('name')} {where} is "
                                          f"{port!r}, a port the container does not declare ({sorted(names)}): "
                                          "the kubelet fails the probe forever"))
                elif isinstance(port, int) and own and port not in numbers:
                    found.append(_finding(doc, namespace, "probe-ports", f"container {c.get('name')} {where} is "
                                          f"{port}, not one of its container ports {sorted(n for n in numbers if n)}"))
    return found


def volume_mounts(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        volumes = {v.get("name") for v in spec.get("volumes") or []}
        if doc.get("kind") == "StatefulSet":
            volumes |= {(t.get("metadata") or {}).get("name") for t in (doc.get("spec") or {}).get(
                "volumeClaimTemplates") or []}
        for c in containers(doc):
            for m in c.get("volumeMounts") or []:
                if m.get("name") not in volumes:
                    found.append(_finding(doc, namespace, "volume-mounts", f"container {c.get('name')} mounts "
                                          f"{m.get('name')!r}, which is not a volume of the pod: the API server "
                                          "refuses it"))
    return found


# --- scaling ---------------------------------------------------------------------------------------------


def hpa_bounds(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    for doc in (d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"):
        spec = doc.get("spec") or {}
        low, high = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 0))
        if low > high:
            found.append(_finding(doc, namespace, "hpa-bounds", f"spec.minReplicas {low} is above spec.maxReplicas "
                                  f"{high}: the API server refuses it"))
    return found


def _minimum_replicas(doc: Manifest, docs: list[Manifest], namespace: str) -> int:
    hpas = [d for d in docs if d.get("kind") == "HorizontalPodAutoscaler" and _ns(d, namespace) == _ns(doc, namespace)]
    for hpa in hpas:
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if target.get("kind") == doc.get("kind") and target.get("name") == doc["metadata"]["name"]:
            return int(hpa["spec"].get("minReplicas", 1))
    return int((doc.get("spec") or {}).get("replicas", 1))


def _allowed_disruptions(pdb: dict[str, Any], replicas: int) -> int:
    """Evictions a PDB allows at `replicas` healthy pods (percentages round up, as the disruption
    controller rounds them)."""
    def count(value: Any) -> int:
        if isinstance(value, str) and value.endswith("%"):
            return -(-int(value[:-1]) * replicas // 100)
        return int(value)
    if "maxUnavailable" in pdb:
        return count(pdb["maxUnavailable"])
    if "minAvailable" in pdb:
        return replicas - count(pdb["minAvailable"])
    return 1


def pdb_evictions(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    workloads = [d for d in docs if d.get("kind") in SCALABLE]
    for pdb in (d for d in docs if d.get("kind") == "PodDisruptionBudget"):
        spec = pdb.get("spec") or {}
        for w in workloads:
            if _ns(w, namespace) != _ns(pdb, namespace) or not spec.get("selector") \
                    or not selector_matches(spec["selector"], pod_labels(w)):
                continue
            replicas = _minimum_replicas(w, docs, namespace)
            if _allowed_disruptions(spec, replicas) < 1:
                found.append(_finding(pdb, namespace, "pdb-evictions", f"allows no eviction of "
                                      f"{object_id(w, namespace)} at its {replicas} replica(s): every node drain "
                                      "(and so every cluster upgrade) blocks on it"))
    return found


# --- Kafka (Strimzi) ------------------------------------------------------------------------------------


def _strimzi(doc: Manifest, kind: str) -> bool:
    return doc.get("kind") == kind and str(doc.get("apiVersion", "")).startswith("kafka.strimzi.io/")


def kafka_listeners(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    for kafka in (d for d in docs if _strimzi(d, "Kafka")):
        listeners = ((kafka.get("spec") or {}).get("kafka") or {}).get("listeners") or []
        names: set[str] = set()
        ports_seen: dict[int, str] = {}
        for listener in listeners:
            name, port = str(listener.get("name")), int(listener.get("port", 0))
            if name in names:
                found.append(_finding(kafka, namespace, "kafka-listeners", f"two listeners are named {name!r}: "
                                      "Strimzi refuses the cluster"))
            names.add(name)
            if port in ports_seen:
                found.append(_finding(kafka, namespace, "kafka-listeners", f"listeners {ports_seen[port]!r} and "
                                      f"{name!r} share port {port}: Strimzi refuses the cluster"))
            ports_seen.setdefault(port, name)
            if port < KAFKA_LOWEST_PORT or port in KAFKA_FORBIDDEN_PORTS:
                found.append(_finding(kafka, namespace, "kafka-listeners", f"listener {name!r} is on port {port}, "
                                      f"which Strimzi forbids (below {KAFKA_LOWEST_PORT}, and 9404, 9999)"))
    return found


@cache
def topic_catalogue() -> dict[str, Any]:
    """The topic configurations of the pinned Kafka (generated from its jars)."""
    return yamlfile.load(TOPIC_CATALOGUE)


def topic_config_problem(name: str, value: Any, catalogue: dict[str, Any] | None = None) -> str | None:
    """Why Kafka refuses `value` for topic configuration `name`, or None."""
    catalogue = catalogue or topic_catalogue()
    spec = catalogue["configs"].get(name)
    version = catalogue["version"]
    if spec is None:
        return f"{name!r} is not a topic configuration of Kafka {version}"
    kind, text = spec["type"], str(value).lower() if isinstance(value, bool) else str(value)
    if text in {str(a) for a in spec.get("also") or []}:
        return None
    if kind in ("int", "short", "long", "double"):
        try:
            number = float(text)
        except ValueError:
            return f"{name} {text!r} is not a number (Kafka's type: {kind})"
        if kind != "double" and not number.is_integer():
            return f"{name} {text} is not a whole number (Kafka's type: {kind})"
        if ("min" in spec and number < spec["min"]) or ("max" in spec and number > spec["max"]):
            return f"{name} {text} is outside what Kafka {version} accepts: {spec['valid']}"
    elif kind == "boolean":
        if text.lower() not in ("true", "false"):
            return f"{name} {text!r} is not a boolean"
    elif spec.get("oneOf"):
        items = [i.strip() for i in text.split(",")] if kind == "list" else [text]
        bad = [i for i in items if i and i not in spec["oneOf"]]
        if bad:
            return f"{name} {bad[0]!r} is not among the values Kafka {version} accepts: {spec['valid']}"
    return None


def kafka_topics(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    clusters = {(_ns(k, namespace), k["metadata"]["name"]) for k in docs if _strimzi(k, "Kafka")}
    for topic in (d for d in docs if _strimzi(d, "KafkaTopic")):
        ns = _ns(topic, namespace)
        cluster = ((topic.get("metadata") or {}).get("labels") or {}).get("strimzi.io/cluster")
        if (ns, cluster) not in clusters:
            found.append(_finding(topic, namespace, "kafka-topics", f"label strimzi.io/cluster {cluster!r} names no "
                                  f"Kafka cluster of the release ({sorted(c for _, c in clusters)}): the topic "
                                  "operator never creates it"))
            continue
        spec = topic.get("spec") or {}
        count = brokers(docs, ns, cluster)
        if count is not None and spec.get("replicas") is not None and int(spec["replicas"]) > count:
            found.append(_finding(topic, namespace, "kafka-topics", f"spec.replicas {spec['replicas']} but cluster "
                                  f"{cluster} has {count} broker(s): Kafka refuses the topic"))
        for key, value in (spec.get("config") or {}).items():
            if problem := topic_config_problem(str(key), value):
                found.append(_finding(topic, namespace, "kafka-topics", f"spec.config: {problem}"))
    return found


# --- Dapr ---------------------------------------------------------------------------------------------


def _topic_names(docs: list[Manifest]) -> set[str]:
    return {(t.get("spec") or {}).get("topicName") or t["metadata"]["name"] for t in docs if _strimzi(t, "KafkaTopic")}


def dapr_subscriptions(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    topics = _topic_names(docs)
    pubsubs = {d["metadata"]["name"]: str((d.get("spec") or {}).get("type", "")) for d in docs
               if d.get("kind") == "Component" and str(d.get("apiVersion", "")).startswith("dapr.io/")
               and str((d.get("spec") or {}).get("type", "")).startswith("pubsub.")}
    delivered: dict[str, set[str]] = {}
    subscriptions = [d for d in docs if d.get("kind") == "Subscription"
                     and str(d.get("apiVersion", "")).startswith("dapr.io/")]
    for sub in subscriptions:
        spec = sub.get("spec") or {}
        name = spec.get("pubsubname")
        if name not in pubsubs:
            found.append(_finding(sub, namespace, "dapr-subscriptions", f"spec.pubsubname {name!r} is not a pub/sub "
                                  f"component of the release ({sorted(pubsubs)})"))
            continue
        for key in ("topic", "deadLetterTopic"):
            if pubsubs[name] == "pubsub.kafka" and spec.get(key) and spec[key] not in topics:
                found.append(_finding(sub, namespace, "dapr-subscriptions", f"spec.{key} {spec[key]!r} is not a "
                                      f"topic the platform declares (KafkaTopics: {sorted(topics)})"))
        for app in sub.get("scopes") or []:
            delivered.setdefault(str(app), set()).add(str(spec.get("topic")))
    for cm in (d for d in docs if d.get("kind") == "ConfigMap"):
        data = cm.get("data") or {}
        if not data.get("SUBSCRIBED_TOPICS") or not data.get("DAPR_APP_ID"):
            continue
        app = data["DAPR_APP_ID"]
        for topic in str(data["SUBSCRIBED_TOPICS"]).split(","):
            if topic not in delivered.get(app, set()):
                found.append(_finding(cm, namespace, "dapr-subscriptions", f"app {app} expects topic {topic!r} "
                                      "(SUBSCRIBED_TOPICS), but no Dapr Subscription scoped to it delivers that topic"))
    return found


def kafka_peers(docs: list[Manifest], namespace: str) -> list[Finding]:
    found = []
    listeners = {k["metadata"]["name"]: {int(listener.get("port", 0)) for listener in
                                         ((k.get("spec") or {}).get("kafka") or {}).get("listeners") or []}
                 for k in docs if _strimzi(k, "Kafka")}
    for doc in (d for d in docs if d.get("kind") == "NetworkPolicy"):
        spec = doc.get("spec") or {}
        for direction, side in (("ingress", "from"), ("egress", "to")):
            for i, rule in enumerate(spec.get(direction) or []):
                for peer in rule.get(side) or []:
                    cluster = ((peer.get("podSelector") or {}).get("matchLabels") or {}).get("strimzi.io/cluster")
                    if cluster is None:
                        continue
                    if cluster not in listeners:
                        found.append(_finding(doc, namespace, "kafka-peers", f"spec.{direction}[{i}] names Strimzi "
                                              f"cluster {cluster!r}, which the release does not have "
                                              f"({sorted(listeners)}): the rule admits nothing"))
                        continue
                    numbers = {p["port"] for p in rule.get("ports") or [] if isinstance(p.get("port"), int)}
                    if chart_of(doc) == "app" and direction == "egress" and numbers - listeners[cluster]:
                        found.append(_finding(doc, namespace, "kafka-peers", f"spec.egress[{i}] reaches Kafka "
                                              f"{cluster} on {sorted(numbers - listeners[cluster])}, which none of "
                                              f"its listeners use ({sorted(listeners[cluster])})"))
    return found


RULES: dict[str, Rule] = {
    "resources": resources,
    "network-policy-blocks": network_policy_blocks,
    "ports": ports,
    "probe-ports": probe_ports,
    "volume-mounts": volume_mounts,
    "hpa-bounds": hpa_bounds,
    "pdb-evictions": pdb_evictions,
    "kafka-listeners": kafka_listeners,
    "kafka-topics": kafka_topics,
    "dapr-subscriptions": dapr_subscriptions,
    "kafka-peers": kafka_peers,
}


def check_release(docs: Iterable[Manifest], env: str, namespace: str = "todo-chatbot") -> list[Finding]:
    """Every rule over one environment's release; findings are prefixed with the environment."""
    objects = list(docs)
    return [Finding(f.gate, f"{env}: {f.where}", f.rule, f.message)
            for rule in RULES.values() for f in rule(objects, namespace)]
