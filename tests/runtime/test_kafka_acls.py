"""The broker enforces the rendered KafkaUsers: SCRAM-SHA-512 over the listeners the Kafka CR declares, and
ACLs that let the Dapr pub/sub user (derived from dapr.apps) produce to exactly the topics it publishes to.

Clients connect as the apps do: over the pub/sub component's listener (kafka.clientListener, TLS with the run's
CA) as KafkaUser `dapr-pubsub`, with the password the run handed out as its Secret."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer

from todo_cloud.runtime import kafka_plan
from todo_cloud.runtime.kafka import AccessDenied, KafkaCluster, produce
from todo_cloud.runtime.kafka_plan import Topic

PUBSUB_USER = "dapr-pubsub"


# A topic of the cluster that no value grants to anyone (created by the test, as another team's topic would be).
UNGRANTED = "not-granted"


def writable_topics(values: dict) -> set[str]:
    """Topics the pub/sub user must be able to write, from dapr.apps: what enabled apps publish, and the
    dead-letter topic once an app subscribes to another topic (its sidecar dead-letters there)."""
    apps = [a for a in values["dapr"]["apps"].values() if a.get("enabled")]
    out = {t for a in apps for t in a.get("publishes") or []}
    dead_letters = values["dapr"]["pubsub"]["deadLetterTopic"]
    if any(set(a.get("subscribes") or {}) - {dead_letters} for a in apps):
        out.add(dead_letters)
    return out


def test_the_pubsub_user_produces_with_acks_all_to_the_topics_it_publishes_to_and_is_refused_elsewhere(
        kafka_cluster: Callable[..., KafkaCluster], kafka_env: str, platform_values: Callable[[str], dict]) -> None:
    values = platform_values(kafka_env)
    cluster = kafka_cluster(kafka_env)
    listener = cluster.plan.listener(values["kafka"]["clientListener"])
    assert (listener.tls, listener.authentication) == (True, "scram-sha-512"), "the apps' listener as the CR asks"
    config = cluster.client_config(PUBSUB_USER, listener.name)
    assert config["security.protocol"] == "SASL_SSL" and config["sasl.mechanism"] == "SCRAM-SHA-512"
    expected = writable_topics(values)
    assert expected, "the apps publish"
    if UNGRANTED not in cluster.admin().list_topics(timeout=10).topics:
        cluster.apply_topics([Topic(f"KafkaTopic/{UNGRANTED}", UNGRANTED, 1, len(cluster.plan.brokers), {})])
    topics = {*values["kafka"]["topics"], UNGRANTED}
    outcome = {topic: produce(config, topic, b"acl-probe", key=b"k", timeout=15) for topic in sorted(topics)}
    assert {t for t, err in outcome.items() if err is None} == expected
    assert {t: err.code() for t, err in outcome.items() if err is not None} == {
        t: KafkaError.TOPIC_AUTHORIZATION_FAILED for t in topics - expected}


def test_the_pubsub_user_secret_holds_the_password_and_jaas_config_the_broker_accepts(
        kafka_cluster: Callable[..., KafkaCluster], kafka_env: str) -> None:
    cluster = kafka_cluster(kafka_env)
    secret = cluster.secrets[PUBSUB_USER]
    assert secret["sasl.jaas.config"] == (f'org.apache.kafka.common.security.scram.ScramLoginModule required '
                                          f'username="{PUBSUB_USER}" password="{secret["password"]}";')
    assert cluster.secrets[cluster.plan.cluster_ca_secret]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    topic = sorted(a.name for a in cluster.plan.user(PUBSUB_USER).acls
                   if a.resource_type == "topic" and "Write" in a.operations)[0]
    config = cluster.client_config(PUBSUB_USER, "tls", password=secret["password"])
    assert produce(config, topic, b"secret-probe", timeout=15) is None


@pytest.mark.parametrize("listener", ["plain", "tls"])
def test_a_client_with_a_wrong_password_is_refused_on_every_listener(
        kafka_cluster: Callable[..., KafkaCluster], kafka_env: str, listener: str) -> None:
    cluster = kafka_cluster(kafka_env)
    errors: list[KafkaError] = []
    config = cluster.client_config(PUBSUB_USER, listener, password="not-the-password")
    producer = Producer({**config, "error_cb": errors.append})
    deadline = time.monotonic() + 15
    while not any(e.code() == KafkaError._AUTHENTICATION for e in errors) and time.monotonic() < deadline:
        producer.poll(0.2)
    with pytest.raises(KafkaException):
        producer.list_topics(timeout=1)
    refused = [e.str() for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert refused, f"no authentication error among {errors}"
    assert all("invalid credentials with SASL mechanism SCRAM-SHA-512" in r for r in refused), refused


def test_every_workload_gets_from_the_broker_what_its_dapr_objects_need(
        kafka_cluster: Callable[..., KafkaCluster], kafka_env: str, rendered_objects: Callable,
        platform_values: Callable[[str], dict]) -> None:
    needs = kafka_plan.pubsub_needs(rendered_objects(kafka_env))
    assert {(n.operation, n.name) for n in needs if n.resource_type == "topic"} >= {
        ("Write", t) for t in writable_topics(platform_values(kafka_env))}
    kafka_cluster(kafka_env).check_access(needs, platform_values(kafka_env)["kafka"]["clientListener"])


@pytest.mark.kafka_run("local")
def test_an_acl_set_that_blocks_a_workload_is_detected_and_named(
        kafka_cluster: Callable[..., KafkaCluster], rendered_objects: Callable,
        platform_values: Callable[[str], dict]) -> None:
    env = "local"
    cluster = kafka_cluster(env)
    docs = copy.deepcopy(rendered_objects(env))
    user = next(d for d in docs if d["kind"] == "KafkaUser" and d["metadata"]["name"] == PUBSUB_USER)
    # Bad input: the pub/sub user's ACLs without Write on todo-events, which the backend publishes to.
    user["spec"]["authorization"]["acls"] = [a for a in user["spec"]["authorization"]["acls"]
                                             if a["resource"]["name"] != "todo-events"]
    broken = kafka_plan.plan(docs).user(PUBSUB_USER)
    try:
        cluster.apply_users([broken])
        with pytest.raises(AccessDenied) as denied:
            cluster.check_access(kafka_plan.pubsub_needs(docs), platform_values(env)["kafka"]["clientListener"])
    finally:
        cluster.apply_users([cluster.plan.user(PUBSUB_USER)])
    message = str(denied.value)
    assert "backend needs Write on topic todo-events as KafkaUser/dapr-pubsub" in message
    assert "TOPIC_AUTHORIZATION_FAILED" in message
    assert "chat-events" not in message, "only the blocked need is named"
