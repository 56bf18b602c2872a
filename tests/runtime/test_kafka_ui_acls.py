"""Kafka UI's KafkaUser against the real broker of the local render: it reads every topic and is refused every
write and every change (its ACLs come from charts/platform's one ACL helper;
tests/charts/platform/eventing/test_kafka_ui.py pins them on the rendered object)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from todo_cloud.runtime.kafka import KafkaCluster, produce

ENV = "local"
PROBE = b"kafka-ui-read-probe"


@pytest.mark.kafka_run(ENV)
def test_kafka_ui_reads_every_topic_and_is_refused_writes_and_changes(
        kafka_cluster: Callable[..., KafkaCluster], platform_values: Callable[[str], dict]) -> None:
    values = platform_values(ENV)
    cluster = kafka_cluster(ENV)
    listener = values["kafka"]["clientListener"]
    user = values["kafkaUi"]["kafkaUser"]
    config = cluster.client_config(user, listener)
    topics = sorted(values["kafka"]["topics"])
    assert produce(cluster.client_config("dapr-pubsub", listener), "todo-events", PROBE, key=b"k", timeout=20) is None

    consumer = Consumer({**config, "group.id": "kafka-ui-probe", "enable.auto.commit": False})
    try:
        for topic in topics:
            partitions = consumer.list_topics(topic, timeout=15).topics[topic].partitions
            assert partitions, f"{user} cannot see topic {topic}"
        todo = consumer.list_topics("todo-events", timeout=15).topics["todo-events"].partitions
        consumer.assign([TopicPartition("todo-events", p, OFFSET_BEGINNING) for p in todo])
        deadline, seen, errors = time.monotonic() + 30, False, set()
        while not seen and time.monotonic() < deadline:
            message = consumer.poll(1)
            if message is not None and message.error() is not None:
                errors.add(message.error().code())
            elif message is not None:
                seen = message.value() == PROBE
        assert seen, f"{user} did not read the record back from todo-events"
        # Reading by assignment needs no group; the client's own group is refused (no group Read: no commits).
        assert errors <= {KafkaError.GROUP_AUTHORIZATION_FAILED}, errors
    finally:
        consumer.close()

    refused = {t: produce(config, t, b"write-probe", timeout=15, retries=0) for t in topics}
    assert {t: e.code() if e else None for t, e in refused.items()} == {
        t: KafkaError.TOPIC_AUTHORIZATION_FAILED for t in topics}

    admin = AdminClient(config)
    created = admin.create_topics([NewTopic("kafka-ui-should-not-create", 1, 1)], operation_timeout=10)
    with pytest.raises(KafkaException) as denied:
        created["kafka-ui-should-not-create"].result(timeout=20)
    assert denied.value.args[0].code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED,
                                           KafkaError.CLUSTER_AUTHORIZATION_FAILED)
