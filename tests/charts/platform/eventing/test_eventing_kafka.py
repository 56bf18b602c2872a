"""The Kafka cluster: KRaft node pools, replication per environment, listeners, storage, spread, metrics."""

from __future__ import annotations

import pytest

from tests.charts.platform.eventing.support import CLUSTER, EVENTING_KINDS, REMOTE, render_platform
from todo_cloud import envs
from todo_cloud.render import Manifest, find, get


def kafka(docs: list[Manifest]) -> dict:
    return get(docs, "Kafka", CLUSTER)["spec"]


def nodes(docs: list[Manifest], role: str) -> int:
    return sum(p["spec"]["replicas"] for p in find(docs, "KafkaNodePool") if role in p["spec"]["roles"])


def test_every_node_pool_belongs_to_the_cluster(platform: list[Manifest]) -> None:
    pools = find(platform, "KafkaNodePool")
    assert pools
    for pool in pools:
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER


# Brokers and KRaft controllers per environment (dual-role nodes count as both).
NODES = {"local": (1, 1), "staging": (3, 3), "production": (3, 3)}


def test_kraft_quorum_and_brokers_follow_the_environment(platform: list[Manifest], env_name: str) -> None:
    assert (nodes(platform, "broker"), nodes(platform, "controller")) == NODES[env_name]


def test_production_runs_three_dual_role_nodes_one_per_host() -> None:
    pool = get(render_platform("production"), "KafkaNodePool", "dual-role")["spec"]
    assert pool["replicas"] == 3
    assert sorted(pool["roles"]) == ["broker", "controller"]
    spread = pool["template"]["pod"]["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"
    assert spread["labelSelector"]["matchLabels"] == {"strimzi.io/cluster": CLUSTER, "strimzi.io/broker-role": "true"}


def test_replication_never_exceeds_the_brokers(platform: list[Manifest]) -> None:
    config = kafka(platform)["kafka"]["config"]
    brokers = nodes(platform, "broker")
    for key in ("default.replication.factor", "offsets.topic.replication.factor",
                "transaction.state.log.replication.factor"):
        assert 1 <= config[key] <= brokers, key
    assert config["min.insync.replicas"] <= config["default.replication.factor"]


@pytest.mark.parametrize("env", REMOTE)
def test_remote_environments_replicate_three_times_with_two_in_sync(env: str) -> None:
    config = kafka(render_platform(env))["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["offsets.topic.replication.factor"] == 3
    assert config["transaction.state.log.replication.factor"] == 3
    assert config["transaction.state.log.min.isr"] == 2


def test_topics_are_never_created_on_the_fly(platform: list[Manifest]) -> None:
    assert kafka(platform)["kafka"]["config"]["auto.create.topics.enable"] is False


def test_listeners_are_internal_plain_9092_and_tls_9093(platform: list[Manifest]) -> None:
    listeners = {lst["name"]: lst for lst in kafka(platform)["kafka"]["listeners"]}
    assert (listeners["plain"]["port"], listeners["plain"]["tls"]) == (9092, False)
    assert (listeners["tls"]["port"], listeners["tls"]["tls"]) == (9093, True)
    assert {lst["type"] for lst in listeners.values()} == {"internal"}


@pytest.mark.parametrize("env", REMOTE)
def test_no_anonymous_access_outside_local(env: str) -> None:
    spec = kafka(render_platform(env))["kafka"]
    for listener in spec["listeners"]:
        assert listener["authentication"]["type"] in ("scram-sha-512", "tls"), listener["name"]
    assert spec["authorization"]["type"] == "simple"


def test_production_storage_is_jbod_on_do_block_storage_with_shared_kraft_metadata() -> None:
    storage = get(render_platform("production"), "KafkaNodePool", "dual-role")["spec"]["storage"]
    assert storage["type"] == "jbod"
    (volume,) = storage["volumes"]
    assert volume == {"id": 0, "type": "persistent-claim", "size": "10Gi", "class": "do-block-storage",
                      "deleteClaim": False, "kraftMetadata": "shared"}


def test_local_runs_one_node_on_ephemeral_storage_with_replication_one() -> None:
    docs = render_platform("local")
    assert get(docs, "KafkaNodePool", "dual-role")["spec"]["storage"]["type"] == "ephemeral"
    assert kafka(docs)["kafka"]["config"]["default.replication.factor"] == 1


def test_every_pool_has_memory_requests_and_a_heap_below_the_limit(platform: list[Manifest]) -> None:
    units = {"Mi": 1, "Gi": 1024, "m": 1, "g": 1024}
    for pool in find(platform, "KafkaNodePool"):
        spec = pool["spec"]
        heap = spec["jvmOptions"]["-Xmx"]
        limit = spec["resources"]["limits"]["memory"]
        assert spec["resources"]["requests"]["memory"]
        assert int(heap[:-1]) * units[heap[-1]] < int(limit[:-2]) * units[limit[-2:]], pool["metadata"]["name"]


def test_kafka_pods_have_a_disruption_budget_of_one(platform: list[Manifest]) -> None:
    assert kafka(platform)["kafka"]["template"]["podDisruptionBudget"]["maxUnavailable"] == 1


def test_jmx_metrics_come_from_the_metrics_config_map(platform: list[Manifest]) -> None:
    ref = kafka(platform)["kafka"]["metricsConfig"]
    assert ref["type"] == "jmxPrometheusExporter"
    key = ref["valueFrom"]["configMapKeyRef"]
    data = get(platform, "ConfigMap", key["name"])["data"]
    assert "kafka_$1_$2_$3" in data[key["key"]]


# Profiles of production (config/profiles.yaml) without Cruise Control (docs/COST.md).
NO_CRUISE_CONTROL = {"seed-budget"}


@pytest.mark.parametrize("env", REMOTE)
def test_remote_environments_run_the_exporter_and_cruise_control_unless_their_profile_gives_it_up(env: str) -> None:
    spec = kafka(render_platform(env))
    assert spec["kafkaExporter"]["groupRegex"] == ".*"
    if envs.get(env).profile in NO_CRUISE_CONTROL:
        assert "cruiseControl" not in spec
    else:
        assert spec["cruiseControl"]["metricsConfig"]["type"] == "jmxPrometheusExporter"


def test_platform_resources_do_not_depend_on_the_workloads_switch(env_name: str) -> None:
    phase_one = render_platform(env_name, {"global": {"workloads": {"enabled": False}}})
    full = render_platform(env_name)
    assert get(phase_one, "Kafka", CLUSTER)
    assert find(phase_one, "Component", "pubsub")
    for kind in EVENTING_KINDS:
        assert find(phase_one, kind) == find(full, kind), kind
