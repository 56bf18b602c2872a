"""Replication as the production values promise it: with replication.factor 3 and min.insync.replicas 2, one
broker down keeps every acks=all write going; two down make the broker refuse writes (NotEnoughReplicas)
rather than keep them on one replica. Production's rendered cluster runs with its three nodes (heap as its
KafkaNodePool says); the nodes are stopped as Kubernetes stops a pod (SIGTERM, a controlled shutdown).

The cluster is the session's production cluster, shared with the other Kafka tests and the end-to-end run
(one worker runs them in file order, this module last): the test starts its stopped nodes again and waits
until every partition has all its replicas in sync, so the cluster is whole again when it ends."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import KafkaError

from todo_cloud.runtime.kafka import KafkaCluster, produce

ENV = "production"
TOPIC = "todo-events"
PUBSUB_USER = "dapr-pubsub"


def wait_for_isr(cluster: KafkaCluster, expected: set[int], timeout: float = 60) -> None:
    """Until every partition of TOPIC has the in-sync replicas `expected` (as the brokers report them)."""
    deadline = time.monotonic() + timeout
    seen: list[set[int]] = []
    while time.monotonic() < deadline:
        try:
            seen = list(cluster.in_sync_replicas(TOPIC).values())
        except Exception as exc:  # a broker that just stopped may fail the first request
            seen = [exc]  # type: ignore[list-item]
        if seen and all(isr == expected for isr in seen):
            return
        time.sleep(0.5)
    raise AssertionError(f"in-sync replicas of {TOPIC} did not become {sorted(expected)} in {timeout:.0f} s: {seen}")


@pytest.mark.kafka_run(ENV)
def test_acks_all_writes_go_on_with_one_broker_down_and_are_refused_with_two_down(
        kafka_cluster: Callable[..., KafkaCluster], platform_values: Callable[[str], dict]) -> None:
    replication = platform_values(ENV)["kafka"]["replication"]
    cluster = kafka_cluster(ENV)
    nodes = sorted(n.id for n in cluster.plan.brokers)
    assert (len(nodes), replication["factor"], replication["minInsyncReplicas"]) == (3, 3, 2), \
        "the production promise under test: 3 brokers, 3 replicas, 2 in sync"
    config = cluster.client_config(PUBSUB_USER, platform_values(ENV)["kafka"]["clientListener"])
    partitions = range(platform_values(ENV)["kafka"]["topics"][TOPIC]["partitions"])
    survivor, first, second = nodes
    wait_for_isr(cluster, set(nodes))
    assert [produce(config, TOPIC, b"all-up", partition=p) for p in partitions] == [None] * len(partitions)

    try:
        cluster.stop_node(first)
        wait_for_isr(cluster, {survivor, second})
        one_down = [produce(config, TOPIC, b"one-down", partition=p, timeout=30) for p in partitions]
        assert one_down == [None] * len(partitions), "every partition takes acks=all writes with 2 of 3 in sync"

        cluster.stop_node(second)
        wait_for_isr(cluster, {survivor})
        two_down = [produce(config, TOPIC, b"two-down", partition=p, retries=0) for p in partitions]
        assert {e.code() if e else None for e in two_down} == {KafkaError.NOT_ENOUGH_REPLICAS}, \
            "with 1 of 3 in sync the broker refuses acks=all writes"
    finally:
        # Both at once: the controller quorum (3 dual-role nodes) needs 2 of them to come back.
        offsets = {n: cluster.launch_node(n) for n in (first, second) if not cluster.running(n)}
        for n, offset in offsets.items():
            cluster.wait_for_node(n, offset, timeout=120)
        wait_for_isr(cluster, set(nodes), timeout=120)
    assert [produce(config, TOPIC, b"all-up-again", partition=p) for p in partitions] == [None] * len(partitions)
