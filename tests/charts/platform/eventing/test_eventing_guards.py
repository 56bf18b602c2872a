"""Bad input fails the whole render with a message that names the offending value."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.platform.eventing.support import CLUSTER, render_platform
from todo_cloud.render import RenderError, get

TWO_TOPIC_REPLICAS = {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d", "replicas": 2}}}}

# (environment, overrides, text the error must contain: the key it names)
BAD = {
    "topic with more replicas than brokers": (
        "local", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d", "replicas": 3}}}},
        "kafka.topics.dlq.replicas: 3 replicas but only 1 broker"),
    "replication factor above the brokers": (
        "local", {"kafka": {"replication": {"factor": 3}}}, "kafka.replication.factor: 3 replicas but only 1 broker"),
    "min.insync.replicas equal to replicas in production": (
        "production", TWO_TOPIC_REPLICAS,
        "kafka.replication.minInsyncReplicas: 2 must be below the 2 replica(s) of topic dlq"),
    "min.insync.replicas above replicas": (
        "local", {"kafka": {"replication": {"minInsyncReplicas": 2}}},
        "kafka.replication.minInsyncReplicas: 2 is more than"),
    "retention that is not a duration": (
        "production", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "a month"}}}},
        "kafka/topics/dlq/retention"),
    "component scoped to an unknown app": (
        "production", {"dapr": {"statestore": {"scopes": ["backend", "billing"]}}},
        'dapr.statestore.scopes: unknown app id "billing"'),
    "secret store scoped to an unknown app": (
        "production", {"dapr": {"secretstore": {"enabled": True, "scopes": ["ghost"]}}},
        'dapr.secretstore.scopes: unknown app id "ghost"'),
    "secret store enabled for no app": (
        "production", {"dapr": {"secretstore": {"enabled": True}}},
        "dapr.secretstore.scopes: the secret store is enabled but scoped to no app"),
    "service invocation policy for an unknown app": (
        "production", {"dapr": {"resiliency": {"invoke": {"app": "api"}}}},
        'dapr.resiliency.invoke.app: unknown app id "api"'),
    "plaintext connection string": (
        "production", {"dapr": {"statestore": {"postgresql": {"connectionString": "postgres://u:p@db/todo"}}}},
        "dapr/statestore/postgresql/connectionString"),
    "plaintext redis password": (
        "production", {"dapr": {"statestore": {"redis": {"password": "hunter2"}}}}, "dapr/statestore/redis/password"),
    "plaintext credential among extra pub/sub metadata": (
        "production", {"dapr": {"pubsub": {"metadata": [{"name": "saslPassword", "value": "hunter2"}]}}},
        "dapr.pubsub.metadata[0] (saslPassword): a credential must be a secretKeyRef"),
    "anonymous listener in production": (
        "production", {"kafka": {"listeners": {"plain": {"port": 9092, "tls": False, "authentication": "none"}}}},
        "kafka.listeners.plain.authentication: none (anonymous access) is refused in production"),
    "anonymous listener in staging": (
        "staging", {"kafka": {"listeners": {"plain": {"port": 9092, "tls": False, "authentication": "none"}}}},
        "kafka.listeners.plain.authentication: none (anonymous access) is refused in staging"),
    "tls authentication on a plain listener": (
        "production", {"kafka": {"listeners": {"plain": {"port": 9092, "tls": False, "authentication": "tls"}}}},
        "kafka.listeners.plain.authentication: tls authentication needs a TLS listener"),
    "client listener that does not exist": (
        "production", {"kafka": {"clientListener": "external"}}, 'kafka.clientListener: "external" is not a key'),
    "even controller quorum": (
        "production", {"kafka": {"nodePools": {"controllers": {
            "replicas": 1, "roles": ["controller"], "storage": {"type": "ephemeral", "size": "1Gi"}}}}},
        "kafka.nodePools: 4 controllers"),
    "no broker at all": (
        "production", {"kafka": {"nodePools": {"dual-role": {"roles": ["controller"]}}}},
        "kafka.nodePools: no enabled pool has the broker role"),
    "app publishing to an unknown topic": (
        "production", {"dapr": {"apps": {"backend": {"enabled": True, "publishes": ["todo-evnts"]}}}},
        'dapr.apps.backend.publishes: unknown topic "todo-evnts"'),
    "app subscribing to an unknown topic": (
        "production", {"dapr": {"apps": {"audit": {"enabled": True, "subscribes": {"audit-log": "/events"}}}}},
        'dapr.apps.audit.subscribes: unknown topic "audit-log"'),
    "dead-letter topic missing from the table": (
        "production", {"dapr": {"pubsub": {"deadLetterTopic": "dead-letters"}}},
        'dapr.pubsub.deadLetterTopic: unknown topic "dead-letters"'),
    "extra user reading an unknown topic": (
        "production", {"kafka": {"users": {"analytics": {"read": ["clicks"]}}}},
        'kafka.users.analytics.read: unknown topic "clicks"'),
    "replication setting hidden in the broker config": (
        "production", {"kafka": {"config": {"min.insync.replicas": 1}}},
        "kafka.config.min.insync.replicas: set kafka.replication.minInsyncReplicas instead"),
    "retention hidden in a topic's config": (
        "production", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d",
                                                    "config": {"retention.ms": 1000}}}}},
        "kafka.topics.dlq.config.retention.ms: set kafka.topics.dlq.retention instead"),
    "unknown key under kafka": (
        "production", {"kafka": {"zookeeper": {"replicas": 3}}}, "zookeeper"),
    # what Strimzi, Kafka or the API server would refuse later
    "two listeners on one port": (
        "production", {"kafka": {"listeners": {"tls": {"port": 9092, "tls": True, "authentication": "scram-sha-512"}}}},
        "kafka.listeners.tls.port: 9092 is also the port of listener plain"),
    "listener on the JMX port": (
        "staging", {"kafka": {"listeners": {"plain": {"port": 9999, "tls": False, "authentication": "scram-sha-512"}}}},
        "kafka.listeners.plain.port: 9999 is reserved by Strimzi"),
    "listener on the metrics exporter's port": (
        "staging", {"kafka": {"listeners": {"tls": {"port": 9404, "tls": True, "authentication": "scram-sha-512"}}}},
        "kafka.listeners.tls.port: 9404 is reserved by Strimzi"),
    "broker memory limit below its request": (
        "production", {"kafka": {"nodePools": {"dual-role": {"resources": {
            "requests": {"cpu": "200m", "memory": "2Gi"}, "limits": {"memory": "1Gi"}}}}}},
        "kafka.nodePools.dual-role.resources.limits.memory: 1Gi is below "
        "kafka.nodePools.dual-role.resources.requests.memory"),
    "cruise control limit below its request": (
        "production",
        {"kafka": {"cruiseControl": {"enabled": True,  # off under production's seed-budget profile
                                     "resources": {"requests": {"memory": "600Mi"}, "limits": {"memory": "512Mi"}}}}},
        "kafka.cruiseControl.resources.limits.memory"),
    "topic operator limit below its request": (
        "production",
        {"kafka": {"entityOperator": {"topicOperator": {"requests": {"cpu": "1"}, "limits": {"cpu": "500m"}}}}},
        "kafka.entityOperator.topicOperator.limits.cpu"),
    "malformed quantity": (
        "production", {"kafka": {"exporter": {"resources": {"requests": {"memory": "48 MB"}}}}},
        'kafka.exporter.resources.requests.memory: "48 MB" is not a Kubernetes quantity'),
    "initial heap above the maximum": (
        "production", {"kafka": {"nodePools": {"dual-role": {"jvmOptions": {"-Xms": "512m", "-Xmx": "256m"}}}}},
        "kafka.nodePools.dual-role.jvmOptions.-Xms: 512m is above -Xmx 256m"),
    "heap as large as the memory limit": (
        "production", {"kafka": {"nodePools": {"dual-role": {"jvmOptions": {"-Xms": "1g", "-Xmx": "1g"}}}}},
        "kafka.nodePools.dual-role.jvmOptions.-Xmx: 1g is not below the memory limit 1Gi"),
    "topic setting kafka does not know": (
        "production", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d",
                                                    "config": {"retension.bytes": 1}}}}},
        'kafka.topics.dlq.config.retension.bytes: "retension.bytes" is not a topic configuration of Kafka 4.3.1'),
    "topic setting of the wrong type": (
        "production", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d",
                                                    "config": {"segment.bytes": "big"}}}}},
        'kafka.topics.dlq.config.segment.bytes: "big" is not a number'),
    "topic setting below kafka's minimum": (
        "production", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d",
                                                    "config": {"segment.bytes": 1024}}}}},
        "kafka.topics.dlq.config.segment.bytes: 1024 is outside what Kafka 4.3.1 accepts for segment.bytes: "
        "[1048576,...]"),
    "topic cleanup policy kafka does not have": (
        "production", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d",
                                                    "config": {"cleanup.policy": "compact,archive"}}}}},
        'kafka.topics.dlq.config.cleanup.policy: "archive" is not among the values Kafka 4.3.1 accepts'),
    "compaction lag bounds crossed": (
        "production", {"kafka": {"topics": {"dlq": {"partitions": 3, "retention": "30d", "config": {
            "min.compaction.lag.ms": 7200000, "max.compaction.lag.ms": 3600000}}}}},
        "kafka.topics.dlq.config.min.compaction.lag.ms: above max.compaction.lag.ms"),
    "peer cidr with host bits": (
        "production", {"networkPolicy": {"peers": {"external": {"ipBlock": {"cidr": "10.0.0.1/8"}}}}},
        "networkPolicy.peers.external.ipBlock.cidr"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_fails_naming_the_value(case: str) -> None:
    env, overrides, message = BAD[case]
    with pytest.raises(RenderError) as error:
        render_platform(env, overrides)
    assert message in error.value.stderr


def test_local_may_keep_min_insync_replicas_equal_to_one_replica() -> None:
    overrides: dict[str, Any] = {"kafka": {"replication": {"factor": 1, "minInsyncReplicas": 1}}}
    config = get(render_platform("local", overrides), "Kafka", CLUSTER)["spec"]["kafka"]["config"]
    assert (config["default.replication.factor"], config["min.insync.replicas"]) == (1, 1)
