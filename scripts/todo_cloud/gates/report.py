"""`todo-cloud report`: image inventory, capacity at minimum replicas, and monthly cost of one environment.

Capacity counts every pod the release runs at its minimum: workloads at `replicas` (HPA: minReplicas),
DaemonSets once per node, pods the operators create from custom resources (Strimzi KafkaNodePools, entity
operator, Cruise Control and Kafka exporter; Prometheus and Alertmanager with the config-reloader the Prometheus
operator adds), and the Dapr sidecar of every Dapr-enabled pod (from its `dapr.io/sidecar-*` annotations).
Helm test pods and Jobs are transient and left out. On DOKS the requests of DigitalOcean's own kube-system pods
(config/prices.yaml `system_pods`) share the same allocatable and are counted on a line of their own. Node
pool and prices come from terraform/environments/<env>.tfvars and config/prices.yaml (local:
config/kind-capacity.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from todo_cloud import cluster_shape, envs, profiles
from todo_cloud.manifests import (
    containers,
    dapr_app_id,
    image_references,
    object_id,
    operand_images,
    pod_annotations,
    pod_spec,
    quantity,
    split_image,
    volume_claims,
)
from todo_cloud.render import Manifest

HEADROOM_GOAL = 0.20
# The production goal: the release at minimum replicas fits this pool with HEADROOM_GOAL to spare.
GOAL_POOL = {"nodes": 3, "node_size": "s-2vcpu-4gb"}
# The largest pool the report tries when it looks for the pools that meet the goal (the production maximum).
MAX_NODES_TRIED = 10


# --- images ---------------------------------------------------------------------------------------------


def image_inventory(docs: list[Manifest], namespace: str = "-") -> list[dict[str, Any]]:
    """Every image the release runs or has operators run, with tag, digest and who uses it (object ids;
    `namespace`: the release's, for objects that set none)."""
    used: dict[str, set[str]] = {}
    operand: set[str] = set()
    for doc in docs:
        owner = object_id(doc, namespace)
        for image in image_references(doc):
            used.setdefault(image, set()).add(owner)
        for image, var in operand_images(doc):
            used.setdefault(image, set()).add(f"{owner} (env {var})")
            operand.add(image)
    return [{**split_image(image), "used_by": sorted(objs), "started_by_operator": image in operand
             and not any("(env " not in o for o in objs)} for image, objs in sorted(used.items())]


# --- capacity -------------------------------------------------------------------------------------------


@dataclass
class Usage:
    cpu_requests: float = 0.0
    cpu_limits: float = 0.0
    memory_requests: float = 0.0
    memory_limits: float = 0.0

    def add(self, other: Usage, times: float = 1) -> None:
        self.cpu_requests += other.cpu_requests * times
        self.cpu_limits += other.cpu_limits * times
        self.memory_requests += other.memory_requests * times
        self.memory_limits += other.memory_limits * times


def _resources(res: dict[str, Any] | None) -> Usage:
    res = res or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    return Usage(quantity(req.get("cpu")), quantity(lim.get("cpu")), quantity(req.get("memory")),
                 quantity(lim.get("memory")))


def pod_usage(doc: Manifest) -> Usage:
    """Requests and limits of one pod of a workload: its containers, at least its largest init container,
    and the Dapr sidecar when the pod is Dapr-enabled."""
    spec = pod_spec(doc) or {}
    total = Usage()
    for c in spec.get("containers") or []:
        total.add(_resources(c.get("resources")))
    for c in spec.get("initContainers") or []:
        init = _resources(c.get("resources"))
        total.cpu_requests = max(total.cpu_requests, init.cpu_requests)
        total.memory_requests = max(total.memory_requests, init.memory_requests)
    ann = pod_annotations(doc)
    if dapr_app_id(doc) is not None:
        sidecar = [quantity(ann.get(f"dapr.io/sidecar-{r}")) for r in
                   ("cpu-request", "cpu-limit", "memory-request", "memory-limit")]
        total.add(Usage(*sidecar))
    return total


def minimum_replicas(doc: Manifest, docs: list[Manifest], nodes: int) -> int:
    """Pods a workload runs at its minimum: HPA minReplicas, else replicas; DaemonSets once per node."""
    if doc["kind"] == "DaemonSet":
        return nodes
    for hpa in docs:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if hpa.get("kind") == "HorizontalPodAutoscaler" and ref.get("kind") == doc["kind"] \
                and ref.get("name") == doc["metadata"]["name"]:
            return int(hpa["spec"].get("minReplicas", 1))
    return int((doc.get("spec") or {}).get("replicas", 1))


_RELOADER_ARG = re.compile(r"--config-reloader-(cpu|memory)-(request|limit)=(.*)")


def config_reloader(docs: list[Manifest]) -> Usage:
    """Resources of the config-reloader container the Prometheus operator adds to every Prometheus and
    Alertmanager pod, read from the operator's `--config-reloader-*` arguments ("0": not set)."""
    found: dict[str, float] = {}
    for doc in docs:
        for c in containers(doc):
            for arg in c.get("args") or []:
                m = _RELOADER_ARG.fullmatch(str(arg))
                if m:
                    found[f"{m[1]}_{m[2]}"] = quantity(m[3])
    return Usage(found.get("cpu_request", 0.0), found.get("cpu_limit", 0.0), found.get("memory_request", 0.0),
                 found.get("memory_limit", 0.0))


def _operator_pods(doc: Manifest, reloader: Usage | None = None) -> list[tuple[str, int, Usage]]:
    """(label, pods, usage per pod) of the pods an operator creates for a custom resource; `reloader` is what
    the Prometheus operator adds to each Prometheus and Alertmanager pod."""
    spec, kind = doc.get("spec") or {}, doc.get("kind")
    name = doc["metadata"]["name"]
    if kind == "KafkaNodePool":
        return [(f"KafkaNodePool/{name}", int(spec.get("replicas", 0)), _resources(spec.get("resources")))]
    if kind == "Kafka":
        pods = []
        eo = spec.get("entityOperator") or {}
        if eo:
            usage = Usage()
            for part in ("topicOperator", "userOperator"):
                if part in eo:
                    usage.add(_resources((eo.get(part) or {}).get("resources")))
            pods.append((f"Kafka/{name} entity operator", 1, usage))
        for part, label in (("cruiseControl", "Cruise Control"), ("kafkaExporter", "Kafka exporter")):
            if isinstance(spec.get(part), dict):
                pods.append((f"Kafka/{name} {label}", 1, _resources(spec[part].get("resources"))))
        return pods
    if kind in ("Prometheus", "Alertmanager") and str(doc.get("apiVersion", "")).startswith("monitoring.coreos.com"):
        usage = _resources(spec.get("resources"))
        usage.add(reloader or Usage())
        return [(f"{kind}/{name}", int(spec.get("replicas", 1)), usage)]
    return []


SYSTEM_NAMESPACE = "kube-system (DOKS)"


def system_pods(nodes: int, p: dict[str, Any] | None = None) -> list[tuple[str, int, Usage]]:
    """(label, pods, usage per pod) of DOKS's own kube-system pods from config/prices.yaml `system_pods`."""
    p = cluster_shape.prices() if p is None else p
    rows = []
    for name, pod in sorted((p.get("system_pods") or {}).items()):
        pods = nodes if pod["per"] == "node" else int(pod.get("replicas", 1))
        rows.append((f"{name} (DOKS, per {pod['per']})", pods,
                     Usage(quantity(pod["cpu"]), 0.0, quantity(pod["memory"]), 0.0)))
    return rows


def capacity(docs: list[Manifest], namespace: str, nodes: int, cpu_per_node: float, memory_per_node: float,
             system: list[tuple[str, int, Usage]] | None = None) -> dict[str, Any]:
    """Requests and limits per namespace at minimum replicas against the node pool, with headroom; `system`
    (DOKS's own pods, see system_pods) is counted in the namespace SYSTEM_NAMESPACE."""
    per_namespace: dict[str, Usage] = {}
    rows: list[dict[str, Any]] = []
    reloader = config_reloader(docs)
    placed: list[tuple[str, list[tuple[str, int, Usage]]]] = []
    for doc in docs:
        ns = (doc.get("metadata") or {}).get("namespace") or namespace
        entries: list[tuple[str, int, Usage]] = []
        if doc.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
            entries.append((f"{doc['kind']}/{doc['metadata']['name']}", minimum_replicas(doc, docs, nodes),
                            pod_usage(doc)))
        entries += _operator_pods(doc, reloader)
        placed.append((ns, entries))
    placed.append((SYSTEM_NAMESPACE, system or []))
    for ns, entries in placed:
        for label, pods, usage in entries:
            per_namespace.setdefault(ns, Usage()).add(usage, pods)
            rows.append({"workload": label, "namespace": ns, "pods": pods,
                         **{f"{k}_per_pod": v for k, v in asdict(usage).items()},
                         "cpu_requests": usage.cpu_requests * pods, "memory_requests": usage.memory_requests * pods})
    total = Usage()
    for usage in per_namespace.values():
        total.add(usage)
    alloc_cpu, alloc_mem = nodes * cpu_per_node, nodes * memory_per_node
    cpu_headroom = 1 - total.cpu_requests / alloc_cpu if alloc_cpu else 0.0
    mem_headroom = 1 - total.memory_requests / alloc_mem if alloc_mem else 0.0
    missing = [r["workload"] for r in rows if r["pods"] and r["namespace"] != SYSTEM_NAMESPACE
               and (r["cpu_requests"] == 0 or r["memory_requests"] == 0)]
    for doc in docs:
        ann = pod_annotations(doc)
        if dapr_app_id(doc) is not None and not (
                ann.get("dapr.io/sidecar-cpu-request") and ann.get("dapr.io/sidecar-memory-request")):
            missing.append(f"{doc['kind']}/{doc['metadata']['name']} (its Dapr sidecar)")
    return {
        "nodes": nodes, "allocatable_cpu": alloc_cpu, "allocatable_memory": alloc_mem,
        "namespaces": {ns: asdict(u) for ns, u in sorted(per_namespace.items())},
        "total": asdict(total), "workloads": rows,
        "cpu_headroom": round(cpu_headroom, 4), "memory_headroom": round(mem_headroom, 4),
        "headroom_goal": HEADROOM_GOAL,
        "fits_with_headroom": cpu_headroom >= HEADROOM_GOAL and mem_headroom >= HEADROOM_GOAL,
        "workloads_without_requests": missing,
    }


# --- node pool and cost ---------------------------------------------------------------------------------


def node_pool(env: str) -> dict[str, Any]:
    """Node count and per-node allocatable CPU and memory of an environment's pool (at its minimum), as the
    report shows them (todo_cloud.cluster_shape reads the pool)."""
    pool = cluster_shape.node_pool(env)
    row: dict[str, Any] = {"source": pool.source, "node_size": pool.node_size, "nodes": pool.count}
    if pool.max_count is not None:
        row["max_nodes"] = pool.max_count
    return {**row, "cpu": quantity(pool.cpu), "memory": quantity(pool.memory)}


def volumes(docs: list[Manifest], namespace: str, p: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every persistent volume of the release (todo_cloud.manifests.volume_claims) with its StorageClass (the
    price table's `default_storage_class` for a claim without one), size in GiB, count and monthly price;
    KeyError naming the object for a class the price table does not price."""
    p = cluster_shape.prices() if p is None else p
    rows = []
    for doc in docs:
        for claim in volume_claims(doc):
            if not claim.count:
                continue
            cls = claim.storage_class or p["default_storage_class"]
            if cls not in p["block_storage_per_gib"]:
                raise KeyError(f"config/prices.yaml: block_storage_per_gib has no {cls!r} (StorageClass of "
                               f"{object_id(doc, namespace)} claim {claim.claim})")
            gib = quantity(claim.size) / 2**30
            rows.append({"object": object_id(doc, namespace), "claim": claim.claim, "storage_class": cls,
                         "size_gib": gib, "count": claim.count,
                         "monthly": gib * claim.count * p["block_storage_per_gib"][cls]})
    return rows


def load_balancers(docs: list[Manifest], namespace: str) -> list[str]:
    """Objects of the release for which DOKS creates a load balancer: each Gateway (the Gateway API
    implementation puts a Service of type LoadBalancer in front of it) and each Service of type LoadBalancer."""
    return [object_id(d, namespace) for d in docs
            if (d.get("kind") == "Gateway" and str(d.get("apiVersion", "")).startswith("gateway.networking.k8s.io"))
            or (d.get("kind") == "Service" and (d.get("spec") or {}).get("type") == "LoadBalancer")]


def monthly_cost(env: str, docs: list[Manifest] | None = None, tf: dict[str, Any] | None = None,
                 p: dict[str, Any] | None = None, namespace: str = "todo-chatbot") -> dict[str, Any]:
    """Monthly cost of a cloud environment (local: none): nodes at the pool's minimum, HA control plane,
    registry, database and Spaces from its tfvars (`tf`); volumes and load balancers from the rendered
    release (`docs`); each at the dated price table's prices (`p`)."""
    if env == "local":
        return {"total": 0, "items": {}, "volumes": [], "note": "kind on a workstation: no cloud cost"}
    tf = cluster_shape.tfvars(env) if tf is None else tf
    p = cluster_shape.prices() if p is None else p
    docs = docs or []
    node = p["node_sizes"][tf["node_size"]]["monthly"]
    items: dict[str, float] = {
        f"nodes ({tf['node_min_count']} x {tf['node_size']})": node * int(tf["node_min_count"]),
        "HA control plane": p["ha_control_plane"] if tf.get("ha_control_plane") else 0,
        f"registry ({tf['registry_subscription_tier']})": p["registry_tiers"][tf["registry_subscription_tier"]],
    }
    if tf.get("database_enabled"):
        size = tf["database_size"]
        if size not in p["database_sizes"]:
            raise KeyError(f"config/prices.yaml: database_sizes has no {size!r} (database_size of {env}.tfvars)")
        items[f"PostgreSQL ({tf.get('database_node_count', 1)} x {size})"] = \
            p["database_sizes"][size] * int(tf.get("database_node_count", 1))
    volume_rows = volumes(docs, namespace, p)
    by_class: dict[str, float] = {}
    for row in volume_rows:
        by_class[row["storage_class"]] = by_class.get(row["storage_class"], 0.0) + row["size_gib"] * row["count"]
    for cls, gib in sorted(by_class.items()):
        items[f"volumes ({gib:g} GiB {cls})"] = gib * p["block_storage_per_gib"][cls]
    balancers = load_balancers(docs, namespace)
    if balancers:
        items[f"load balancers ({len(balancers)})"] = p["load_balancer"] * len(balancers)
    if tf.get("spaces_bucket_prefix"):
        items["Spaces (subscription)"] = p["spaces"]
    total = sum(items.values())
    at_max = total + node * (int(tf["node_max_count"]) - int(tf["node_min_count"]))
    unconfirmed = sorted(k for k, s in (p.get("sources") or {}).items() if not s.get("confirmed"))
    return {"items": items, "total": round(total, 2), "total_at_max_nodes": round(at_max, 2),
            "volumes": volume_rows, "load_balancers": balancers, "seed_monthly": p["seed_monthly"],
            "versus_seed": round(total - p["seed_monthly"], 2), "price_date": str(p["date"]),
            "currency": p["currency"], "unconfirmed_prices": unconfirmed}


@dataclass
class Report:
    env: str
    images: list[dict[str, Any]] = field(default_factory=list)
    node_pool: dict[str, Any] = field(default_factory=dict)
    capacity: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)
    goal: dict[str, Any] = field(default_factory=dict)
    # The environment under each of its profiles, side by side (todo_cloud.profiles; production only).
    profiles: list[dict[str, Any]] = field(default_factory=list)


def production_goal(docs: list[Manifest], namespace: str) -> dict[str, Any]:
    """Headroom of the release and DOKS's system pods on the goal pool (3 x s-2vcpu-4gb), whatever the tfvars
    say; also the headroom the release alone would leave, so the weight of the system line is visible."""
    p = cluster_shape.prices()
    size = p["node_sizes"][GOAL_POOL["node_size"]]
    cpu, memory = quantity(size["allocatable_cpu"]), quantity(size["allocatable_memory"])
    cap = capacity(docs, namespace, GOAL_POOL["nodes"], cpu, memory, system_pods(GOAL_POOL["nodes"], p))
    system = cap["namespaces"].get(SYSTEM_NAMESPACE, asdict(Usage()))
    return {**GOAL_POOL, "cpu_headroom": cap["cpu_headroom"], "memory_headroom": cap["memory_headroom"],
            "headroom_goal": HEADROOM_GOAL, "fits_with_headroom": cap["fits_with_headroom"],
            "system_cpu_requests": system["cpu_requests"], "system_memory_requests": system["memory_requests"],
            "release_only_cpu_headroom": round(1 - (cap["total"]["cpu_requests"] - system["cpu_requests"])
                                               / cap["allocatable_cpu"], 4),
            "release_only_memory_headroom": round(1 - (cap["total"]["memory_requests"] - system["memory_requests"])
                                                  / cap["allocatable_memory"], 4),
            "allocatable_confirmed": bool((p.get("allocatable_check") or {}).get("confirmed")),
            "pools_meeting_goal": pools_meeting_goal(docs, namespace, p)}


def pools_meeting_goal(docs: list[Manifest], namespace: str, p: dict[str, Any] | None = None,
                       max_nodes: int = MAX_NODES_TRIED) -> list[dict[str, Any]]:
    """For each node size of the price table, the fewest nodes (from the goal pool's count up to `max_nodes`)
    on which the release and DOKS's system pods leave HEADROOM_GOAL of CPU and memory; the node bill each."""
    p = cluster_shape.prices() if p is None else p
    found = []
    for name, size in p["node_sizes"].items():
        cpu, memory = quantity(size["allocatable_cpu"]), quantity(size["allocatable_memory"])
        for nodes in range(GOAL_POOL["nodes"], max_nodes + 1):
            cap = capacity(docs, namespace, nodes, cpu, memory, system_pods(nodes, p))
            if cap["fits_with_headroom"]:
                found.append({"node_size": name, "nodes": nodes, "monthly_nodes": size["monthly"] * nodes,
                              "cpu_headroom": cap["cpu_headroom"], "memory_headroom": cap["memory_headroom"]})
                break
    return sorted(found, key=lambda f: (f["monthly_nodes"], f["nodes"]))


def profile_view(env: str, name: str, docs: list[Manifest], namespace: str, in_use: bool) -> dict[str, Any]:
    """One profile of the environment (its release rendered under that profile's layer): the whole monthly
    bill with the control plane the profile asks for, what the release requests and stores, its verdict
    against the capacity goal and what it gives up."""
    profile = profiles.get(name)
    tf = {**cluster_shape.tfvars(env), "ha_control_plane": profile.ha_control_plane}
    cost = monthly_cost(env, docs, tf, namespace=namespace)
    release = capacity(docs, namespace, GOAL_POOL["nodes"], 1.0, 1.0)["total"]  # DaemonSets on the goal pool
    budget = profile.budget_monthly
    return {"name": name, "title": profile.title, "description": profile.description, "in_use": in_use,
            "ha_control_plane": profile.ha_control_plane, "budget_monthly": budget,
            "within_budget": None if budget is None else cost["total"] <= budget, "monthly": cost["total"],
            "cost": cost, "cpu_requests": release["cpu_requests"], "memory_requests": release["memory_requests"],
            "volumes_gib": sum(v["size_gib"] * v["count"] for v in cost["volumes"]),
            "goal": production_goal(docs, namespace),
            "gives_up": [{"what": g.what, "instead": g.instead} for g in profile.gives_up]}


def build(env: str, docs: list[Manifest], namespace: str = "todo-chatbot",
          profile_docs: dict[str, list[Manifest]] | None = None) -> Report:
    """The report of `env` as rendered (`docs`, under the profile it runs), and under each profile of
    `profile_docs` (name -> the release rendered under it) side by side."""
    pool = node_pool(env)
    goal = production_goal(docs, namespace) if env == "production" else {}
    system = system_pods(pool["nodes"]) if env != "local" else []
    running = envs.get(env).profile
    views = [profile_view(env, name, pdocs, namespace, name == running)
             for name, pdocs in (profile_docs or {}).items()]
    return Report(env, image_inventory(docs, namespace), pool,
                  capacity(docs, namespace, pool["nodes"], pool["cpu"], pool["memory"], system),
                  monthly_cost(env, docs, namespace=namespace), goal, views)


def _gi(b: float) -> str:
    return f"{b / 2**30:.2f}Gi"


def render_table(r: Report) -> str:
    """The report as readable text."""
    out = [f"== images of {r.env} ({len(r.images)}; * started by an operator or injector)",
           f"{'repository':60s} {'tag':22s} digest"]
    for i in r.images:
        mark = "*" if i.get("started_by_operator") else " "
        out.append(f"{i['repository']:59s}{mark} {i['tag'] or '-':22s} {i['digest'] or '-'}")
    c, pool = r.capacity, r.node_pool
    out += ["", f"== capacity of {r.env} at minimum replicas: {pool['nodes']} x {pool['node_size']} "
            f"({pool['source']}), allocatable {c['allocatable_cpu']:.2f} CPU / {_gi(c['allocatable_memory'])}",
            f"{'namespace':24s} {'cpu req':>9s} {'cpu lim':>9s} {'mem req':>10s} {'mem lim':>10s}"]
    for ns, u in c["namespaces"].items():
        out.append(f"{ns:24s} {u['cpu_requests']:9.2f} {u['cpu_limits']:9.2f} {_gi(u['memory_requests']):>10s} "
                   f"{_gi(u['memory_limits']):>10s}")
    t = c["total"]
    out.append(f"{'total':24s} {t['cpu_requests']:9.2f} {t['cpu_limits']:9.2f} {_gi(t['memory_requests']):>10s} "
               f"{_gi(t['memory_limits']):>10s}")
    verdict = "fits" if c["fits_with_headroom"] else "does NOT fit"
    out.append(f"headroom: CPU {c['cpu_headroom']:.0%}, memory {c['memory_headroom']:.0%} -> {verdict} with the "
               f">= {c['headroom_goal']:.0%} goal on {pool['nodes']} x {pool['node_size']}")
    if r.goal:
        g = r.goal
        out.append(f"production goal, {g['nodes']} x {g['node_size']} at minimum replicas: CPU headroom "
                   f"{g['cpu_headroom']:.0%}, memory {g['memory_headroom']:.0%} -> "
                   f"{'met' if g['fits_with_headroom'] else 'NOT met'} (>= {g['headroom_goal']:.0%}); "
                   f"DOKS system pods counted: {g['system_cpu_requests']:.2f} CPU / "
                   f"{_gi(g['system_memory_requests'])} (without them: CPU {g['release_only_cpu_headroom']:.0%}, "
                   f"memory {g['release_only_memory_headroom']:.0%})")
        for pool in g.get("pools_meeting_goal", []):
            out.append(f"  meets the goal: {pool['nodes']} x {pool['node_size']}, ${pool['monthly_nodes']:.0f}/month "
                       f"of nodes (CPU {pool['cpu_headroom']:.0%}, memory {pool['memory_headroom']:.0%} headroom)")
        if not g["allocatable_confirmed"]:
            out.append("allocatable figures NOT confirmed on a live node (config/prices.yaml allocatable_check): "
                       f"`make check-nodes ENV={r.env}` on the cluster compares and records them")
    if c["workloads_without_requests"]:
        out.append(f"without CPU or memory requests (counted as 0): {', '.join(c['workloads_without_requests'])}")
    cost = r.cost
    out += ["", f"== monthly cost of {r.env}"]
    for item, usd in cost.get("items", {}).items():
        out.append(f"{item:48s} {usd:8.2f}")
    out.append(f"{'total':48s} {cost['total']:8.2f}")
    if "seed_monthly" in cost:
        out.append(f"{'at max nodes':48s} {cost['total_at_max_nodes']:8.2f}")
        out.append(f"versus the seed's ~${cost['seed_monthly']}/month: {cost['versus_seed']:+.2f} "
                   f"(prices of {cost['price_date']}, {cost['currency']})")
        if cost.get("unconfirmed_prices"):
            out.append(f"prices NOT confirmed by the searched pages (config/prices.yaml sources): "
                       f"{', '.join(cost['unconfirmed_prices'])}")
        out += ["", f"volumes of {r.env}: per month, count x size, StorageClass, object (claim)"]
        for v in cost.get("volumes", []):
            out.append(f"  {v['monthly']:6.2f}  {v['count']} x {v['size_gib']:g} GiB  {v['storage_class']}  "
                       f"{v['object']} ({v['claim']})")
        for lb in cost.get("load_balancers", []):
            out.append(f"load balancer for {lb}")
    else:
        out.append(cost.get("note", ""))
    if r.profiles:
        out += render_profiles(r)
    return "\n".join(out)


def render_profiles(r: Report) -> list[str]:
    """The profiles side by side, then what each gives up."""
    views = r.profiles
    width = max(24, *(len(v["name"]) + 8 for v in views))
    out = ["", f"== profiles of {r.env} side by side (config/profiles.yaml; * in use)",
           f"{'':34s}" + "".join(f"{v['name'] + (' *' if v['in_use'] else ''):>{width}s}" for v in views)]

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        out.append(f"{label:34s}" + "".join(f"{cell(v):>{width}s}" for v in views))

    row("monthly, all in", lambda v: f"${v['monthly']:.2f}")
    row("budget", lambda v: "-" if v["budget_monthly"] is None else
        f"${v['budget_monthly']:g} {'kept' if v['within_budget'] else 'EXCEEDED'}")
    row("HA control plane", lambda v: "yes" if v["ha_control_plane"] else "no")
    row("release requests (CPU / memory)", lambda v: f"{v['cpu_requests']:.2f} / {_gi(v['memory_requests'])}")
    row("volumes", lambda v: f"{v['volumes_gib']:g} GiB")
    goal = views[0]["goal"]
    row(f"headroom on {goal['nodes']} x {goal['node_size']} (CPU/mem)",
        lambda v: f"{v['goal']['cpu_headroom']:.0%} / {v['goal']['memory_headroom']:.0%}")
    row(f"capacity goal (>= {goal['headroom_goal']:.0%} both)",
        lambda v: "met" if v["goal"]["fits_with_headroom"] else "NOT met")
    row("cheapest pool meeting the goal", lambda v: next(
        (f"{p['nodes']} x {p['node_size']}" for p in v["goal"]["pools_meeting_goal"]), "none"))
    for v in views:
        if v["gives_up"]:
            out.append(f"{v['name']} gives up: " + "; ".join(g["what"] for g in v["gives_up"]) + " (docs/COST.md)")
    return out
