"""Broken Kafka configuration reaches a clear error naming the object (kind/name) and the key, and nothing of it
is applied. The broken input goes through the chart (values overrides of one environment, rendered), so the
error is what a user who writes such values would see; an ACL set that blocks a workload is seen where the
workload runs too: its daprd's publish (the end-to-end platform run)."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runtime.support.e2e import PlatformRun
from todo_cloud.gates import refusals
from todo_cloud.render import find, render_subchart
from todo_cloud.runtime import daprd_plan, kafka_plan
from todo_cloud.runtime.kafka import AccessDenied, KafkaCluster, KafkaRejected, start_cluster

ENV = "local"


def reminders(config: dict) -> list[kafka_plan.Topic]:
    """The topic `reminders` as the chart renders it, with `config` put into its KafkaTopic afterwards: the
    chart itself refuses what Kafka refuses (tests/charts/platform/eventing), so the broker's own verdict is reached
    by changing the rendered object, as a KafkaTopic written by hand would be."""
    docs = copy.deepcopy(render_subchart("platform", ENV, {"kafka": {"topics": {"reminders": {
        "partitions": 3, "retention": "7d"}}}}))  # a copy: the render harness caches its result
    for doc in find(docs, "KafkaTopic", "reminders"):
        doc["spec"]["config"].update(config)
    # The new topic only: the others exist already on the shared cluster, as on a cluster the operator reconciles.
    return [t for t in kafka_plan.plan(docs).topics if t.name == "reminders"]


@pytest.mark.parametrize(("config", "named"), [
    ({"no.such.setting": "1"}, ["spec.config.no.such.setting", "Unknown topic config name: no.such.setting"]),
    ({"retention.bytes": "lots"},
     ["spec.config.retention.bytes", "Invalid value lots for configuration retention.bytes"]),
    ({"cleanup.policy": "shred", "max.message.bytes": 1048588},
     ["spec.config.cleanup.policy", "Invalid value shred for configuration cleanup.policy"]),
], ids=["unknown-key", "bad-value", "one-bad-among-good"])
@pytest.mark.kafka_run(ENV)
def test_a_topic_setting_kafka_rejects_is_named_with_its_object_and_key_and_nothing_is_created(
        kafka_cluster: Callable[..., KafkaCluster], config: dict, named: list[str]) -> None:
    cluster = kafka_cluster(ENV)
    with pytest.raises(KafkaRejected) as rejected:
        cluster.apply_topics(reminders(config))
    message = str(rejected.value)
    assert message.startswith("Kafka refused KafkaTopic/reminders ")
    for text in named:
        assert text in message
    assert "max.message.bytes" not in message, "a setting Kafka accepts is not named"
    assert "reminders" not in cluster.admin().list_topics(timeout=10).topics, "nothing was created"


# Topic settings of every type and validator kind of the catalogue (charts/platform/kafka/topic-configs.yaml,
# generated from the broker's jars): the gate's verdict must be the broker's own.
CATALOGUE_CASES: list[tuple[str, object]] = [
    ("cleanup.policy", "compact,delete"), ("cleanup.policy", "compact,shred"), ("cleanup.policy", ""),
    ("compression.type", "zstd"), ("compression.type", "brotli"), ("compression.type", "ZSTD"),
    ("compression.gzip.level", -1), ("compression.gzip.level", 9), ("compression.gzip.level", 0),
    ("compression.gzip.level", 10), ("segment.bytes", 1048576), ("segment.bytes", 1048575),
    ("min.cleanable.dirty.ratio", 0.25), ("min.cleanable.dirty.ratio", 1.5), ("min.cleanable.dirty.ratio", "half"),
    ("max.message.bytes", 1.5), ("retention.ms", -1), ("retention.ms", -2), ("preallocate", "true"),
    ("preallocate", "yes"), ("message.timestamp.type", "LogAppendTime"), ("message.timestamp.type", "logappendtime"),
    ("segment.ms", 0), ("no.such.setting", "1"),
]


@pytest.mark.parametrize(("name", "value"), CATALOGUE_CASES, ids=[f"{n}={v}" for n, v in CATALOGUE_CASES])
@pytest.mark.kafka_run(ENV)
def test_the_generated_catalogue_judges_a_topic_setting_as_the_broker_does(
        kafka_cluster: Callable[..., KafkaCluster], name: str, value: object) -> None:
    cluster = kafka_cluster(ENV)
    gate = refusals.topic_config_problem(name, value)
    try:
        cluster.validate_topics(reminders({name: value}))  # Kafka's CreateTopics with validate_only: nothing created
        broker = None
    except KafkaRejected as exc:
        broker = str(exc)
    assert (gate is None) == (broker is None), f"gate: {gate}; broker: {broker}"


@pytest.mark.parametrize(("config", "named"), [
    ({"log.retention.hours": "forever"}, "Kafka/todo-chatbot-kafka spec.kafka.config.log.retention.hours"),
    ({"no.such.broker.setting": 1}, "Kafka/todo-chatbot-kafka spec.kafka.config.no.such.broker.setting"),
], ids=["bad-value", "unknown-key"])
def test_a_broker_setting_kafka_rejects_fails_the_start_naming_the_kafka_resource_and_key(
        tmp_path: Path, config: dict, named: str) -> None:
    docs = render_subchart("platform", ENV, {"kafka": {"config": config}})
    with pytest.raises(KafkaRejected) as rejected, start_cluster(kafka_plan.plan(docs), tmp_path, timeout=90):
        pass
    assert named in str(rejected.value)


def test_a_setting_strimzi_manages_is_refused_before_anything_starts() -> None:
    docs = render_subchart("platform", ENV, {"kafka": {"config": {"listeners": "PLAINTEXT://:9092"}}})
    with pytest.raises(kafka_plan.PlanError, match=r"Kafka/todo-chatbot-kafka spec\.kafka\.config\.listeners: "
                                                   r"Strimzi manages this option"):
        kafka_plan.plan(docs)


def test_an_acl_set_that_blocks_the_backend_fails_its_daprds_publish_naming_the_broker_error_and_the_need(
        platform_run: PlatformRun) -> None:
    """Bad input on the Dapr side: the pub/sub KafkaUser's ACLs without Write on the topic the backend publishes
    to. The backend's daprd, asked to publish as the backend asks it (workloads/README.md, "The publish
    request"), refuses after the Resiliency policy's outbound retries with the broker's authorization error
    naming the topic; nothing reaches the topic; the harness's probe of the rendered needs names the
    workload, the KafkaUser and the object that asks for the access; with the ACLs restored the real backend
    publishes again. One refused publish only: the rendered circuit breaker opens after 10 consecutive
    failures, 6 attempts do not trip it. (The backend's own answer to a refused publish, 502 and the change
    rolled back, is tests/workloads/test_backend.py's.)"""
    run = platform_run
    docs = copy.deepcopy(run.rendered)
    (pubsub,) = [c for c in daprd_plan.dapr_objects(docs, "Component") if c["spec"]["type"] == "pubsub.kafka"]
    name = pubsub["metadata"]["name"]
    user_name = {m["name"]: m.get("value") for m in pubsub["spec"]["metadata"]}["saslUsername"]
    user = next(d for d in docs if d["kind"] == "KafkaUser" and d["metadata"]["name"] == user_name)
    topic = "todo-events"
    for acl in user["spec"]["authorization"]["acls"]:  # only Write goes: the consumer keeps reading
        if acl["resource"] == {"type": "topic", "name": topic, "patternType": "literal"}:
            acl["operations"] = [op for op in acl["operations"] if op != "Write"]
    blocked = kafka_plan.plan(docs).user(user_name)
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "backend", "type": "TaskCreated",
             "subject": "blocked", "datacontenttype": "application/json", "data": {"title": "blocked"}}
    try:
        run.kafka.apply_users([blocked])
        status, body = run.sidecars["backend"].request(
            "POST", f"v1.0/publish/{name}/{topic}?metadata.partitionKey=blocked", json.dumps(event).encode(),
            {"content-type": "application/cloudevents+json"}, timeout=60)
        with pytest.raises(AccessDenied) as denied:
            run.kafka.check_access(kafka_plan.pubsub_needs(docs), pubsub_listener(docs))
    finally:
        run.kafka.apply_users([run.kafka.plan.user(user_name)])
    error = json.loads(body)
    assert (status, error["errorCode"]) == (500, "ERR_PUBSUB_PUBLISH_MESSAGE"), body
    assert error["message"].startswith(f"error when publishing to topic {topic} in pubsub {name}: "), error
    assert "not authorized to access this topic" in error["message"], error
    assert str(denied.value) == (f"the broker refuses what workloads need: backend needs Write on topic {topic} as "
                                 f"KafkaUser/{user_name} (Component/{name} publishingScopes): "
                                 "Kafka answered TOPIC_AUTHORIZATION_FAILED")
    status, todo = run.apps["backend"].request("POST", "/api/todos", {"title": "published again"})
    assert status == 201, f"the restored ACLs let the backend publish again: {todo}"
    ids = {json.loads(r.value).get("id") for r in run.kafka.read_topic(topic) if (r.value or b"").startswith(b"{")}
    assert event["id"] not in ids, "nothing of the refused publish reached the topic"


def pubsub_listener(docs: list) -> str:
    """The Kafka CR listener the rendered pub/sub component connects to (by its bootstrap port)."""
    (pubsub,) = [c for c in daprd_plan.dapr_objects(docs, "Component") if c["spec"]["type"] == "pubsub.kafka"]
    port = int({m["name"]: m.get("value") for m in pubsub["spec"]["metadata"]}["brokers"].rsplit(":", 1)[1])
    return next(sl.name for sl in kafka_plan.plan(docs).listeners if sl.port == port)
