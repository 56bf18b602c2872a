"""Kafka itself takes every topic and broker setting the platform renders, and reports the seed's topics.

Expectations come from the platform's values (their owner) and from the seed's topic table in docs/EVENTING.md,
never from literals; what is asserted is what the real broker reports through the Admin API.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from confluent_kafka.admin import ConfigSource

from todo_cloud.paths import DOCS
from todo_cloud.runtime.kafka import KafkaCluster

UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def retention_ms(duration: str) -> int:
    """A values duration (`7d`) in milliseconds."""
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)", str(duration))
    assert m, f"not a duration: {duration!r}"
    return int(m.group(1)) * UNIT_MS[m.group(2)]


def seed_table() -> dict[str, tuple[int, str]]:
    """docs/EVENTING.md "## Topics": topic -> (partitions, retention)."""
    section = (DOCS / "EVENTING.md").read_text().split("\n## Topics", 1)[1].split("\n## ", 1)[0]
    return {m.group(1): (int(m.group(2)), m.group(3))
            for m in re.finditer(r"^\| `([\w.-]+)` \| (\d+) \| (\w+) \|", section, re.MULTILINE)}


def test_every_topic_reports_the_partitions_replicas_retention_and_min_insync_of_the_values_and_the_seed_table(
        kafka_cluster: Callable[..., KafkaCluster], kafka_env: str, platform_values: Callable[[str], dict]) -> None:
    kafka = platform_values(kafka_env)["kafka"]
    cluster = kafka_cluster(kafka_env)
    brokers = len(cluster.plan.brokers)
    seed = seed_table()
    assert set(kafka["topics"]) == set(seed), "the values' topics are the seed's table"
    described = cluster.describe_topics(sorted(kafka["topics"]))
    for name, topic in kafka["topics"].items():
        configs = cluster.topic_configs(name)
        partitions = described[name].partitions
        # Replicas are the topic's own or the environment's factor, capped to the brokers of this run.
        replicas = min(int(topic.get("replicas") or kafka["replication"]["factor"]), brokers)
        reported = {
            "partitions": len(partitions),
            "replicas": {len(p.replicas) for p in partitions},
            "retention.ms": int(configs["retention.ms"].value),
            "min.insync.replicas": int(configs["min.insync.replicas"].value),
        }
        expected = {
            "partitions": topic["partitions"],
            "replicas": {replicas},
            "retention.ms": retention_ms(topic["retention"]),
            "min.insync.replicas": min(int(kafka["replication"]["minInsyncReplicas"]), replicas),
        }
        assert reported == expected, f"{name} in {kafka_env} ({brokers} broker(s) in this run)"
        assert (len(partitions), retention_ms(seed[name][1])) == (reported["partitions"], reported["retention.ms"]), \
            f"{name}: Kafka reports what the seed's table in docs/EVENTING.md says"
    assert not [c for c in cluster.plan.caps], f"this run caps nothing: {[str(c) for c in cluster.plan.caps]}"


def test_kafka_reports_every_config_key_of_every_kafka_topic_as_set_on_the_topic(
        kafka_cluster: Callable[..., KafkaCluster], kafka_env: str) -> None:
    cluster = kafka_cluster(kafka_env)
    assert cluster.plan.topics
    for topic in cluster.plan.topics:
        configs = cluster.topic_configs(topic.name)
        reported = {key: (configs[key].value, configs[key].source) for key in topic.config if key in configs}
        assert reported == {key: (value, ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
                            for key, value in topic.config.items()}, topic.object


def test_the_brokers_run_every_setting_of_the_kafka_resource(
        kafka_cluster: Callable[..., KafkaCluster], kafka_env: str, rendered_objects: Callable) -> None:
    cluster = kafka_cluster(kafka_env)
    kafka = next(d for d in rendered_objects(kafka_env) if d["kind"] == "Kafka")
    rendered_config = kafka["spec"]["kafka"]["config"]
    assert rendered_config
    for node in cluster.plan.brokers:
        configs = cluster.broker_configs(node.id)
        reported = {key: configs[key].value for key in rendered_config if key in configs}
        assert reported == {key: str(v).lower() if isinstance(v, bool) else str(v)
                            for key, v in rendered_config.items()}, f"broker {node.id}"
    assert cluster.plan.authorizer == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert cluster.broker_configs(0)["authorizer.class.name"].value == cluster.plan.authorizer
