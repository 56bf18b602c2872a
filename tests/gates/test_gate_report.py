"""`todo-cloud report`: image inventory, capacity at minimum replicas, monthly cost."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from synthetic_manifests import DIGEST, deployment

from todo_cloud import cluster_shape
from todo_cloud.cli import main
from todo_cloud.gates import report
from todo_cloud.manifests import containers, quantity, split_image
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
          "database_sizes": {"db-s-1vcpu-1gb": 15}, "extras": {"load_balancer": 12, "spaces": 5}}
SEED_LIKE = {"node_size": "s-2vcpu-4gb", "node_min_count": 3, "node_max_count": 5, "ha_control_plane": False,
             "registry_subscription_tier": "basic", "database_enabled": True, "database_size": "db-s-1vcpu-1gb",
             "database_node_count": 1}


def test_the_seed_shaped_cluster_costs_what_the_seed_costs() -> None:
    cost = report.monthly_cost("production", SEED_LIKE, PRICES)
    assert cost["total"] == 109 and cost["versus_seed"] == 0
    assert cost["total_at_max_nodes"] == 109 + 2 * 24


def test_ha_control_plane_and_database_are_priced_from_the_tfvars() -> None:
    cost = report.monthly_cost("production", {**SEED_LIKE, "ha_control_plane": True, "database_enabled": False},
                               PRICES)
    assert cost["items"]["HA control plane"] == 40
    assert not any(k.startswith("PostgreSQL") for k in cost["items"])
    assert cost["total"] == 109 + 40 - 15


def test_an_unpriced_database_size_names_the_key() -> None:
    with pytest.raises(KeyError, match=r"database_size of production\.tfvars"):
        report.monthly_cost("production", {**SEED_LIKE, "database_size": "db-s-8vcpu-32gb"}, PRICES)


@pytest.mark.parametrize("env", ["staging", "production"])
def test_every_cloud_environment_is_priced_from_its_tfvars(env: str) -> None:
    tf = cluster_shape.tfvars(env)
    assert report.node_pool(env)["nodes"] == int(tf["node_min_count"])
    assert report.monthly_cost(env)["total"] > 0


@pytest.mark.upstream
def test_the_report_command_prints_json_with_every_section(upstream_charts, capsys) -> None:  # type: ignore[no-untyped-def]
    del upstream_charts
    assert main(["report", "--env", "production", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"env", "images", "node_pool", "capacity", "cost", "goal"}
    assert {"cpu_headroom", "memory_headroom", "fits_with_headroom"} <= set(data["goal"])
    assert all({"repository", "tag", "digest"} <= set(i) for i in data["images"])
    assert data["node_pool"] == {**report.node_pool("production")}


@pytest.fixture(scope="module")
def production_report(upstream_charts):  # type: ignore[no-untyped-def]
    del upstream_charts
    return report.build("production", render_environment("production"))


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
    "NOT met with the recorded figures (docs/MONITORING.md, 'Capacity at minimum replicas'): after "
    "right-sizing, the release requests ~6.89Gi (Alloy and the analytics consumer included) and DOKS's own "
    "pods ~1.25Gi (partly estimated, config/prices.yaml) of 3 x 2.5Gi allocatable: memory headroom about -8% "
    "(8% without the system pods), CPU about 21%. 20% needs 5 x s-2vcpu-4gb or 3 x s-4vcpu-8gb; the assertion "
    "message shows the totals. The allocatable and system-pod figures stay unconfirmed until `make check-nodes "
    "ENV=production ARGS=--write` records a live cluster's"))
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
