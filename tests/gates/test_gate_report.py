"""`todo-cloud report`: image inventory, capacity at minimum replicas, monthly cost."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from tests.gates.synthetic_manifests import DIGEST, deployment
from todo_cloud import cluster_shape, envs, profiles
from todo_cloud.cli import main
from todo_cloud.gates import report
from todo_cloud.manifests import containers, quantity, split_image, volume_claims
from todo_cloud.render import render_environment

GI = 2**30


@pytest.mark.parametrize(("text", "value"), [
    ("250m", 0.25), ("2", 2.0), ("1.5", 1.5), ("512Mi", 512 * 2**20), ("2.5Gi", 2.5 * GI), ("1G", 1e9), (None, 0.0),
])
def test_quantities_are_read_as_kubernetes_does(text: str | None, value: float) -> None:
    assert quantity(text) == pytest.approx(value)


def test_a_bad_quantity_names_itself() -> None:
    with pytest.raises(ValueError, match="'lots'"):
        quantity("lots")


@pytest.mark.parametrize(("image", "repository", "tag", "digest"), [
    ("quay.io/strimzi/operator:1.2.0", "quay.io/strimzi/operator", "1.2.0", None),
    (f"registry.digitalocean.com/todo/backend:0.1.0@{DIGEST}", "registry.digitalocean.com/todo/backend", "0.1.0",
     DIGEST),
    (f"localhost:5000/web@{DIGEST}", "localhost:5000/web", None, DIGEST),
    ("busybox", "busybox", None, None),
])
def test_images_are_split_into_repository_tag_and_digest(image: str, repository: str, tag: str | None,
                                                        digest: str | None) -> None:
    assert split_image(image) == {"image": image, "repository": repository, "tag": tag, "digest": digest}


def test_the_inventory_lists_every_image_once_with_its_users() -> None:
    docs = [deployment("a", image="x/web:1"), deployment("b", image="x/web:1"), deployment("c", image="x/api:2")]
    inventory = report.image_inventory(docs)
    assert [(i["repository"], i["tag"], i["used_by"]) for i in inventory] == [
        ("x/api", "2", ["Deployment/todo-chatbot/c"]),
        ("x/web", "1", ["Deployment/todo-chatbot/a", "Deployment/todo-chatbot/b"])]


def test_the_inventory_includes_images_that_operators_and_injectors_start() -> None:
    operator = deployment("strimzi-cluster-operator", image="quay.io/strimzi/operator:1.2.0")
    operator["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "STRIMZI_KAFKA_IMAGES", "value": "4.3.0=quay.io/strimzi/kafka:1.2.0-kafka-4.3.0\n"
                                                 "4.3.1=quay.io/strimzi/kafka:1.2.0-kafka-4.3.1"},
        {"name": "SIDECAR_IMAGE", "value": "ghcr.io/dapr/daprd:1.18.3"},
        {"name": "LOG_LEVEL", "value": "INFO"},
    ]
    inventory = {i["image"]: i for i in report.image_inventory([operator])}
    assert set(inventory) == {"quay.io/strimzi/operator:1.2.0", "quay.io/strimzi/kafka:1.2.0-kafka-4.3.0",
                              "quay.io/strimzi/kafka:1.2.0-kafka-4.3.1", "ghcr.io/dapr/daprd:1.18.3"}
    assert inventory["ghcr.io/dapr/daprd:1.18.3"]["used_by"] == [
        "Deployment/todo-chatbot/strimzi-cluster-operator (env SIDECAR_IMAGE)"]
    assert inventory["ghcr.io/dapr/daprd:1.18.3"]["started_by_operator"] is True
    assert inventory["quay.io/strimzi/operator:1.2.0"]["started_by_operator"] is False


def test_the_inventory_includes_the_config_reloader_the_prometheus_operator_adds() -> None:
    operator = deployment("prometheus-operator", image="quay.io/prometheus-operator/prometheus-operator:v0.93.1")
    operator["spec"]["template"]["spec"]["containers"][0]["args"] = [
        "--kubelet-service=kube-system/kubelet",
        "--prometheus-config-reloader=quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1"]
    inventory = {i["image"]: i for i in report.image_inventory([operator])}
    assert inventory["quay.io/prometheus-operator/prometheus-config-reloader:v0.93.1"]["used_by"] == [
        "Deployment/todo-chatbot/prometheus-operator"]


class TestCapacity:
    def hpa(self, name: str, min_replicas: int) -> dict:
        return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": name}, "minReplicas": min_replicas,
                         "maxReplicas": 10}}

    def test_hpa_managed_workloads_count_at_min_replicas(self) -> None:
        docs = [deployment("web", replicas=5), self.hpa("web", 2)]
        cap = report.capacity(docs, "todo-chatbot", 3, 2.0, 4 * GI)
        assert cap["total"]["cpu_requests"] == pytest.approx(0.2)
        assert cap["total"]["memory_requests"] == pytest.approx(2 * 128 * 2**20)

    def test_daemonsets_count_once_per_node_and_dapr_sidecars_count(self) -> None:
        ds = deployment("exporter")
        ds["kind"] = "DaemonSet"
        dapr = deployment("api", annotations={"dapr.io/enabled": "true", "dapr.io/sidecar-cpu-request": "50m",
                                              "dapr.io/sidecar-memory-request": "64Mi"})
        cap = report.capacity([ds, dapr], "todo-chatbot", 3, 2.0, 4 * GI)
        assert cap["total"]["cpu_requests"] == pytest.approx(3 * 0.1 + 0.1 + 0.05)

    def test_operator_managed_pods_count(self) -> None:
        pool = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaNodePool", "metadata": {"name": "dual"},
                "spec": {"replicas": 3, "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}}
        cap = report.capacity([pool], "todo-chatbot", 3, 2.0, 4 * GI)
        assert cap["total"]["memory_requests"] == pytest.approx(3 * GI)

    def test_strimzi_cruise_control_and_kafka_exporter_pods_count(self) -> None:
        kafka = {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": "k"},
                 "spec": {"entityOperator": {"topicOperator": {"resources": {"requests": {"cpu": "25m",
                                                                                            "memory": "160Mi"}}}},
                          "cruiseControl": {"resources": {"requests": {"cpu": "50m", "memory": "320Mi"}}},
                          "kafkaExporter": {"resources": {"requests": {"cpu": "25m", "memory": "48Mi"}}}}}
        cap = report.capacity([kafka], "todo-chatbot", 3, 2.0, 4 * GI)
        assert [r["workload"] for r in cap["workloads"]] == [
            "Kafka/k entity operator", "Kafka/k Cruise Control", "Kafka/k Kafka exporter"]
        assert cap["total"]["memory_requests"] == pytest.approx((160 + 320 + 48) * 2**20)

    def test_the_operators_config_reloader_counts_in_every_prometheus_and_alertmanager_pod(self) -> None:
        operator = deployment("prometheus-operator")
        operator["spec"]["template"]["spec"]["containers"][0]["args"] = [
            "--config-reloader-cpu-request=10m", "--config-reloader-cpu-limit=0",
            "--config-reloader-memory-request=24Mi", "--config-reloader-memory-limit=64Mi"]
        prometheus = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p"},
                      "spec": {"replicas": 2, "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}}
        cap = report.capacity([operator, prometheus], "todo-chatbot", 3, 2.0, 4 * GI)
        row = next(r for r in cap["workloads"] if r["workload"] == "Prometheus/p")
        assert row["memory_requests_per_pod"] == pytest.approx((512 + 24) * 2**20)
        assert row["memory_limits_per_pod"] == pytest.approx(64 * 2**20)
        assert row["cpu_requests"] == pytest.approx(2 * 0.26)

    def test_system_pods_take_their_share_of_the_allocatable_on_a_line_of_their_own(self) -> None:
        prices = {"system_pods": {
            "agent": {"per": "node", "cpu": "100m", "memory": "100Mi", "source": "s"},
            "dns": {"per": "cluster", "replicas": 2, "cpu": "100m", "memory": "70Mi", "source": "s"},
            "tunnel": {"per": "node", "cpu": "0", "memory": "0", "source": "unknown"}}}
        system = report.system_pods(3, prices)
        assert [(label, pods) for label, pods, _ in system] == [
            ("agent (DOKS, per node)", 3), ("dns (DOKS, per cluster)", 2), ("tunnel (DOKS, per node)", 3)]
        cap = report.capacity([deployment("web")], "todo-chatbot", 3, 1.0, GI, system)
        assert cap["namespaces"][report.SYSTEM_NAMESPACE]["memory_requests"] == pytest.approx(440 * 2**20)
        assert cap["memory_headroom"] == pytest.approx(1 - (440 + 128) / (3 * 1024), abs=1e-3)
        assert cap["cpu_headroom"] == pytest.approx(1 - 0.6 / 3, abs=1e-3)
        # pods DigitalOcean runs without requests are its business, not a finding about the release
        assert cap["workloads_without_requests"] == []

    def test_headroom_is_measured_against_the_goal(self) -> None:
        big = deployment("big", resources={"requests": {"cpu": "1", "memory": "1Gi"}})
        cap = report.capacity([big], "todo-chatbot", 1, 2.0, 1.2 * GI)
        assert cap["cpu_headroom"] == pytest.approx(0.5)
        assert cap["memory_headroom"] == pytest.approx(1 - 1 / 1.2, abs=1e-3)
        assert cap["fits_with_headroom"] is False

    def test_a_dapr_sidecar_without_request_annotations_is_listed(self) -> None:
        dapr = deployment("api", annotations={"dapr.io/enabled": "true", "dapr.io/app-id": "api"})
        assert report.capacity([dapr], "todo-chatbot", 1, 2.0, GI)["workloads_without_requests"] == [
            "Deployment/api (its Dapr sidecar)"]

    def test_workloads_without_requests_are_listed(self) -> None:
        bare = deployment("bare", resources={})
        assert report.capacity([bare], "todo-chatbot", 1, 2.0, GI)["workloads_without_requests"] == [
            "Deployment/bare"]


def test_the_pools_meeting_the_goal_are_the_fewest_nodes_of_each_size_cheapest_first() -> None:
    """6 CPU / 6Gi of requests (3 pods of 2 / 2Gi) and 0.5 / 0.5Gi of system pods per node: 3 nodes of 4 / 4Gi
    leave 12 - 7.5 = 4.5 (37%); 2-CPU nodes need 6 + 0.5n <= 0.8 * 2n, n >= 6 (the 4Gi memory fits at 6 too);
    a 1-CPU size never gets there within MAX_NODES_TRIED."""
    big = deployment("big", replicas=3, resources={"requests": {"cpu": "2", "memory": "2Gi"}})
    prices = {"node_sizes": {"small": {"monthly": 6, "allocatable_cpu": "1", "allocatable_memory": "1Gi"},
                             "medium": {"monthly": 24, "allocatable_cpu": "2", "allocatable_memory": "4Gi"},
                             "large": {"monthly": 48, "allocatable_cpu": "4", "allocatable_memory": "4Gi"}},
              "system_pods": {"agent": {"per": "node", "cpu": "500m", "memory": "512Mi"}}}
    pools = report.pools_meeting_goal([big], "todo-chatbot", prices)
    assert [(p["node_size"], p["nodes"], p["monthly_nodes"]) for p in pools] == [
        ("large", 3, 144), ("medium", 6, 144)]
    assert pools[0]["cpu_headroom"] == pytest.approx(1 - 7.5 / 12)


PRICES = {"date": "2026-11-01", "currency": "USD", "seed_monthly": 109, "ha_control_plane": 40,
          "node_sizes": {"s-2vcpu-4gb": {"monthly": 24}}, "registry_tiers": {"basic": 5},
          "database_sizes": {"db-s-1vcpu-1gb": 15}, "load_balancer": 12, "spaces": 5,
          "block_storage_per_gib": {"do-block-storage": 0.10, "do-block-storage-xfs": 0.10},
          "default_storage_class": "do-block-storage",
          "sources": {"spaces": {"confirmed": False}, "ha_control_plane": {"confirmed": True}}}
SEED_LIKE = {"node_size": "s-2vcpu-4gb", "node_min_count": 3, "node_max_count": 5, "ha_control_plane": False,
             "registry_subscription_tier": "basic", "database_enabled": True, "database_size": "db-s-1vcpu-1gb",
             "database_node_count": 1, "spaces_bucket_prefix": "todo-seed"}
GATEWAY = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "public"},
           "spec": {"gatewayClassName": "cilium", "listeners": []}}


def pvc(name: str, size: str, storage_class: str | None = None) -> dict:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {**spec, **({"storageClassName": storage_class} if storage_class else {})}}


def test_the_seed_shaped_cluster_costs_what_the_seed_costs() -> None:
    """3 nodes, a basic registry, the smallest database, one load balancer (the Gateway) and Spaces."""
    cost = report.monthly_cost("production", [GATEWAY], SEED_LIKE, PRICES)
    assert cost["total"] == 109 and cost["versus_seed"] == 0
    assert cost["total_at_max_nodes"] == 109 + 2 * 24
    assert cost["load_balancers"] == ["Gateway/todo-chatbot/public"]


def test_ha_control_plane_and_database_are_priced_from_the_tfvars() -> None:
    cost = report.monthly_cost("production", [GATEWAY],
                               {**SEED_LIKE, "ha_control_plane": True, "database_enabled": False}, PRICES)
    assert cost["items"]["HA control plane"] == 40
    assert not any(k.startswith("PostgreSQL") for k in cost["items"])
    assert cost["total"] == 109 + 40 - 15


def test_an_unpriced_database_size_names_the_key() -> None:
    with pytest.raises(KeyError, match=r"database_size of production\.tfvars"):
        report.monthly_cost("production", [], {**SEED_LIKE, "database_size": "db-s-8vcpu-32gb"}, PRICES)


def test_every_volume_is_priced_by_its_size_and_class_the_default_class_where_it_names_none() -> None:
    docs = [pvc("a", "20Gi"), pvc("b", "512Mi", "do-block-storage-xfs")]
    cost = report.monthly_cost("production", docs, SEED_LIKE, PRICES)
    assert [(v["object"], v["storage_class"], v["size_gib"], v["count"]) for v in cost["volumes"]] == [
        ("PersistentVolumeClaim/todo-chatbot/a", "do-block-storage", 20, 1),
        ("PersistentVolumeClaim/todo-chatbot/b", "do-block-storage-xfs", 0.5, 1)]
    assert cost["items"]["volumes (20 GiB do-block-storage)"] == pytest.approx(2.0)
    assert cost["items"]["volumes (0.5 GiB do-block-storage-xfs)"] == pytest.approx(0.05)
    assert cost["total"] == pytest.approx(109 - 12 + 2.05)  # no Gateway here: no load balancer


def test_a_volume_of_an_unpriced_storage_class_names_the_class_and_the_object() -> None:
    with pytest.raises(KeyError, match=r"'fast-ssd' \(StorageClass of PersistentVolumeClaim/todo-chatbot/db "):
        report.volumes([pvc("db", "1Gi", "fast-ssd")], "todo-chatbot", PRICES)


def test_services_of_type_load_balancer_count_like_gateways() -> None:
    lb = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "edge"}, "spec": {"type": "LoadBalancer"}}
    internal = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"}, "spec": {"type": "ClusterIP"}}
    assert report.load_balancers([GATEWAY, lb, internal], "todo-chatbot") == [
        "Gateway/todo-chatbot/public", "Service/todo-chatbot/edge"]


def test_an_environment_without_buckets_pays_no_spaces_subscription_and_unconfirmed_prices_are_named() -> None:
    tf = {k: v for k, v in SEED_LIKE.items() if k != "spaces_bucket_prefix"}
    cost = report.monthly_cost("staging", [GATEWAY], tf, PRICES)
    assert "Spaces (subscription)" not in cost["items"] and cost["total"] == 109 - 5
    assert cost["unconfirmed_prices"] == ["spaces"]


STS_WITH_TEMPLATES = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "loki"},
                      "spec": {"replicas": 2, "volumeClaimTemplates": [
                          {"metadata": {"name": "storage"}, "spec": {"resources": {"requests": {"storage": "5Gi"}}}},
                          {"metadata": {"name": "wal"}, "spec": {"storageClassName": "x",
                                                                 "resources": {"requests": {"storage": "1Gi"}}}}]}}
PROMETHEUS = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "metadata": {"name": "p"},
              "spec": {"replicas": 2, "shards": 2, "storage": {"volumeClaimTemplate": {
                  "spec": {"storageClassName": "do-block-storage", "resources": {"requests": {"storage": "50Gi"}}}}}}}
ALERTMANAGER_IN_MEMORY = {"apiVersion": "monitoring.coreos.com/v1", "kind": "Alertmanager",
                          "metadata": {"name": "a"}, "spec": {"replicas": 3}}
KAFKA_JBOD = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaNodePool", "metadata": {"name": "dual"},
              "spec": {"replicas": 3, "storage": {"type": "jbod", "volumes": [
                  {"id": 0, "type": "persistent-claim", "size": "10Gi", "class": "do-block-storage"},
                  {"id": 1, "type": "ephemeral", "sizeLimit": "1Gi"}]}}}
KAFKA_EPHEMERAL = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaNodePool", "metadata": {"name": "e"},
                   "spec": {"replicas": 1, "storage": {"type": "ephemeral"}}}


@pytest.mark.parametrize(("doc", "claims"), [
    (pvc("a", "2Gi", "c"), [("a", "c", "2Gi", 1)]),
    (STS_WITH_TEMPLATES, [("storage", None, "5Gi", 2), ("wal", "x", "1Gi", 2)]),
    (PROMETHEUS, [("p-db", "do-block-storage", "50Gi", 4)]),
    (ALERTMANAGER_IN_MEMORY, []),
    (KAFKA_JBOD, [("data-0", "do-block-storage", "10Gi", 3)]),
    (KAFKA_EPHEMERAL, []),
], ids=["pvc", "statefulset-templates", "prometheus-replicas-and-shards", "alertmanager-without-storage",
        "kafka-jbod-persistent-only", "kafka-ephemeral"])
def test_volume_claims_are_read_off_every_kind_that_asks_for_volumes(doc: dict, claims: list[tuple]) -> None:
    assert [tuple(c) for c in volume_claims(doc)] == claims


@pytest.mark.parametrize("env", ["staging", "production"])
def test_every_cloud_environment_is_priced_from_its_tfvars(env: str) -> None:
    tf = cluster_shape.tfvars(env)
    assert report.node_pool(env)["nodes"] == int(tf["node_min_count"])
    assert report.monthly_cost(env, [GATEWAY])["total"] > 0


@pytest.mark.upstream
def test_the_report_command_prints_json_with_every_section(upstream_charts, capsys) -> None:  # type: ignore[no-untyped-def]
    del upstream_charts
    assert main(["report", "--env", "production", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"env", "images", "node_pool", "capacity", "cost", "goal", "profiles"}
    assert {"cpu_headroom", "memory_headroom", "fits_with_headroom"} <= set(data["goal"])
    assert [p["name"] for p in data["profiles"]] == [p for p in profiles.variants(envs.get("production")) if p]
    assert all({"repository", "tag", "digest"} <= set(i) for i in data["images"])
    assert data["node_pool"] == {**report.node_pool("production")}


@pytest.fixture(scope="module")
def production_report(upstream_charts):  # type: ignore[no-untyped-def]
    del upstream_charts
    return report.build("production", render_environment("production"), "todo-chatbot",
                        {p: render_environment("production", profile=p) for p in profiles.all_profiles()})


def _profile(result: report.Report, name: str) -> dict:
    return next(v for v in result.profiles if v["name"] == name)


@pytest.mark.upstream
def test_production_shows_every_profile_and_the_one_it_runs_is_what_it_renders(production_report) -> None:  # type: ignore[no-untyped-def]
    views = production_report.profiles
    assert [v["name"] for v in views] == list(profiles.all_profiles())
    [running] = [v for v in views if v["in_use"]]
    assert running["name"] == envs.get("production").profile
    assert running["goal"] == production_report.goal
    assert running["cost"]["volumes"] == production_report.cost["volumes"]
    assert running["monthly"] == production_report.cost["total"], "tfvars and the profile disagree on the bill"


@pytest.mark.upstream
@pytest.mark.parametrize("name", list(profiles.all_profiles()))
def test_each_profile_prices_its_control_plane_volumes_and_load_balancer(production_report, name: str) -> None:  # type: ignore[no-untyped-def]
    view, profile = _profile(production_report, name), profiles.get(name)
    items = view["cost"]["items"]
    assert items["HA control plane"] == (cluster_shape.prices()["ha_control_plane"] if profile.ha_control_plane else 0)
    assert view["volumes_gib"] > 0 and any(k.startswith("volumes (") for k in items)
    assert view["cost"]["load_balancers"] == ["Gateway/todo-chatbot/todo-chatbot-public"]
    assert view["monthly"] == pytest.approx(sum(items.values()))
    assert f"${view['monthly']:.2f}" in report.render_table(production_report)


@pytest.mark.upstream
@pytest.mark.parametrize("name", [n for n, p in profiles.all_profiles().items() if p.budget_monthly is not None])
def test_a_profile_with_a_budget_keeps_it_all_in(production_report, name: str) -> None:  # type: ignore[no-untyped-def]
    view = _profile(production_report, name)
    assert view["monthly"] <= view["budget_monthly"], view["cost"]["items"]
    assert view["within_budget"] is True


@pytest.mark.upstream
def test_the_seed_budget_profile_requests_and_stores_less_than_ha(production_report) -> None:  # type: ignore[no-untyped-def]
    seed, ha = _profile(production_report, "seed-budget"), _profile(production_report, "ha")
    assert seed["memory_requests"] < ha["memory_requests"] and seed["cpu_requests"] < ha["cpu_requests"]
    assert seed["volumes_gib"] < ha["volumes_gib"] and seed["monthly"] < ha["monthly"]
    assert seed["goal"]["memory_headroom"] > ha["goal"]["memory_headroom"]


@pytest.mark.upstream
def test_the_production_goal_counts_the_doks_system_pods(production_report) -> None:  # type: ignore[no-untyped-def]
    goal = production_report.goal
    system = report.system_pods(3)
    assert goal["system_memory_requests"] == pytest.approx(sum(pods * u.memory_requests for _, pods, u in system))
    assert goal["system_cpu_requests"] == pytest.approx(sum(pods * u.cpu_requests for _, pods, u in system))
    assert goal["system_memory_requests"] > 0
    assert goal["release_only_memory_headroom"] > goal["memory_headroom"]
    assert "kube-system (DOKS)" in report.render_table(production_report)


@pytest.mark.upstream
def test_the_report_names_the_pools_that_meet_the_production_goal(production_report) -> None:  # type: ignore[no-untyped-def]
    pools = production_report.goal["pools_meeting_goal"]
    assert pools, "no node size of config/prices.yaml meets the goal with up to 10 nodes"
    assert all(p["cpu_headroom"] >= 0.2 and p["memory_headroom"] >= 0.2 for p in pools)
    assert [p["monthly_nodes"] for p in pools] == sorted(p["monthly_nodes"] for p in pools)
    table = report.render_table(production_report)
    assert f"  meets the goal: {pools[0]['nodes']} x {pools[0]['node_size']}, ${pools[0]['monthly_nodes']:.0f}/month" \
        in table


@pytest.mark.upstream
@pytest.mark.xfail(strict=True, reason=(
    "NOT met with the recorded figures by the profile production runs, seed-budget (docs/COST.md, "
    "docs/MONITORING.md 'Capacity at minimum replicas'): the release requests ~5.6Gi and DOKS's own pods "
    "~1.25Gi (partly estimated, config/prices.yaml) of 3 x 2.5Gi allocatable, memory headroom about 8% "
    "(CPU 29%); the ha profile is at about -8%. Kafka with its operators (~2.2Gi; the platform chart refuses "
    "fewer than 3 brokers in production) and the apps' 2 replicas each (1Gi; the app chart's production "
    "guard) are most of it; 20% needs 4 x s-2vcpu-4gb (the report lists the pools). The allocatable and "
    "system-pod figures stay unconfirmed until `make check-nodes ENV=production ARGS=--write` records a live "
    "cluster's; the assertion message shows the totals"))
def test_production_fits_three_small_nodes_with_twenty_percent_headroom(production_report) -> None:  # type: ignore[no-untyped-def]
    result = production_report
    assert (result.goal["nodes"], result.goal["node_size"]) == (3, "s-2vcpu-4gb")
    assert result.goal["fits_with_headroom"], (result.goal, asdict(result)["capacity"]["total"])


@pytest.mark.upstream
@pytest.mark.parametrize("env", ["local", "staging", "production"])
def test_no_workload_in_any_environment_lacks_requests(upstream_charts, env: str) -> None:  # type: ignore[no-untyped-def]
    del upstream_charts
    docs = render_environment(env)
    bare = [f"{d['kind']}/{d['metadata']['name']} container {c['name']}" for d in docs for c in containers(d)
            if not {"cpu", "memory"} <= set((c.get("resources") or {}).get("requests") or {})]
    assert bare == []
    assert report.capacity(docs, "todo-chatbot", 3, 2.0, 4 * GI)["workloads_without_requests"] == []
