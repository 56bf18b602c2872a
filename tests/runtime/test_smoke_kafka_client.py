"""The smoke test's Kafka client (todo_cloud.eventflow), run here against the runtime harness's real Kafka of
`local`, so that it is proven on every `make test` and not only on kind: the reader the smoke derives from the
objects (the pub/sub Component's listener, a KafkaUser allowed to read todo-events), its settings from the
Secrets as Strimzi writes them (todo_cloud.runtime.kafka_client), and Kafka's own console tools with those
settings (kafka-get-offsets, kafka-console-consumer: what the smoke runs in a broker pod), on the broker's jars.

The Dapr pub/sub user may read todo-events once an app subscribes to it; the analytics consumer is wired in as
workloads/README.md says (a no-op once the charts carry it), and the running cluster's user gets those ACLs
for the test, as the User Operator would reconcile them."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator

import pytest

from todo_cloud import envs, eventflow
from todo_cloud.render import render_environment
from todo_cloud.run import run
from todo_cloud.runtime import kafka_jars
from todo_cloud.runtime.kafka import JVM_FLAGS, KafkaCluster, java, produce
from todo_cloud.runtime.kafka_client import ClientSettings, client_settings

ENV = "local"
SUBSCRIBED = {"platform": {"dapr": {"apps": {"analytics": {
    "enabled": True, "publishes": [], "subscribes": {"todo-events": "/events/todo-events"}}}}}}
TOOL_TIMEOUT = 120
pytestmark = pytest.mark.kafka_run(ENV)


@pytest.fixture(scope="module")
def local_tools(tmp_path_factory: pytest.TempPathFactory) -> eventflow.Tools:
    """Runs a ToolCall with the harness's Kafka jars (the broker's classpath, console tools included)."""
    folder = tmp_path_factory.mktemp("kafka-tools")
    classpath = ":".join(map(str, kafka_jars.ensure()))
    java_bin = java()

    def run_tool(call: eventflow.ToolCall) -> str:
        config = folder / f"{uuid.uuid4().hex}.properties"
        config.touch(mode=0o600)
        config.write_text(eventflow.properties_text(call.properties))
        proc = run([java_bin, "-Xmx128m", *JVM_FLAGS, "-cp", classpath, call.main_class, *call.args,
                    "--command-config", config], check=False, timeout=TOOL_TIMEOUT)
        if proc.returncode != 0:
            raise eventflow.ToolFailed(f"{call.script} exited {proc.returncode}: {proc.stderr[-3000:]}"
                                       f"{proc.stdout[-3000:]}")
        return proc.stdout

    return run_tool


@dataclasses.dataclass
class Reading:
    cluster: KafkaCluster
    reader: eventflow.Reader

    def settings(self, listener: str | None = None, **secret_overrides: str) -> ClientSettings:
        """The smoke's settings for this run: its bootstrap address mapped onto the run's brokers."""
        name = listener or self.reader.listener
        port = self.cluster.plan.listener(name).port
        bootstrap = self.cluster.address_map[f"{self.reader.bootstrap.rpartition(':')[0]}:{port}"]
        return client_settings(self.cluster.plan, name, self.reader.user, self.cluster.secrets, bootstrap,
                               **secret_overrides)


@pytest.fixture
def reading(kafka_cluster: Callable[..., KafkaCluster]) -> Iterator[Reading]:
    cluster = kafka_cluster(ENV)
    objects = render_environment(ENV, SUBSCRIBED)
    reader = eventflow.reader(objects, namespace=envs.get(ENV).namespace)
    cluster.apply_users([reader.plan.user(reader.user)])
    try:
        yield Reading(cluster, reader)
    finally:
        cluster.apply_users([cluster.plan.user(reader.user)])


def publish_task_created(cluster: KafkaCluster, todo_id: str) -> None:
    """What the backend's sidecar puts on todo-events for a new todo: a CloudEvent keyed by the todo id, sent as
    the pub/sub user (over the listener the Component dials)."""
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "backend", "type": "TaskCreated",
             "subject": todo_id, "datacontenttype": "application/json",
             "data": {"id": todo_id, "title": "smoke", "version": 1}}
    config = cluster.client_config("dapr-pubsub", "tls")
    assert produce(config, eventflow.TOPIC, json.dumps(event).encode(), key=todo_id.encode(), timeout=20) is None


def test_the_smoke_reads_as_the_pubsub_user_over_the_listener_its_component_dials(reading: Reading) -> None:
    assert (reading.reader.listener, reading.reader.user) == ("tls", "dapr-pubsub")
    assert reading.reader.secrets == ["dapr-pubsub", reading.cluster.plan.cluster_ca_secret]
    props = reading.settings().java_properties()
    secret = reading.cluster.secrets["dapr-pubsub"]
    assert props["security.protocol"] == "SASL_SSL" and props["sasl.mechanism"] == "SCRAM-SHA-512"
    assert props["sasl.jaas.config"] == secret["sasl.jaas.config"]
    assert props["ssl.truststore.certificates"] == reading.cluster.secrets[reading.cluster.plan.cluster_ca_secret][
        "ca.crt"]


def test_the_smoke_finds_the_event_on_todo_events_with_kafkas_console_tools(
        reading: Reading, local_tools: eventflow.Tools) -> None:
    settings = reading.settings()
    before = eventflow.end_offsets(local_tools, settings)
    todo_id = str(uuid.uuid4())
    publish_task_created(reading.cluster, todo_id)
    records = eventflow.records_since(local_tools, settings, before)
    assert [r.key for r in records] == [todo_id], "exactly the new record, read from where it landed"
    found = eventflow.published_event(records, todo_id)
    assert found is not None and found.json()["data"]["id"] == todo_id


def test_the_reader_authenticates_on_the_plain_listener_too(reading: Reading, local_tools: eventflow.Tools) -> None:
    settings = reading.settings("plain")
    assert settings.java_properties()["security.protocol"] == "SASL_PLAINTEXT"
    assert "ssl.truststore.certificates" not in settings.java_properties()
    assert set(eventflow.end_offsets(local_tools, settings)) == set(range(
        reading.cluster.plan.topic(eventflow.TOPIC).partitions))


def test_a_wrong_password_is_refused_by_the_broker_and_the_tool_says_so(
        reading: Reading, local_tools: eventflow.Tools) -> None:
    with pytest.raises(eventflow.ToolFailed, match=r"(?s)kafka-get-offsets.sh exited 1: .*"
                                                   r"invalid credentials with SASL mechanism SCRAM-SHA-512"):
        eventflow.end_offsets(local_tools, reading.settings(password="not-the-password"))


def test_without_the_cluster_ca_the_tls_listener_is_not_trusted(
        reading: Reading, local_tools: eventflow.Tools) -> None:
    untrusted = dataclasses.replace(reading.settings(), ca_pem=None)
    assert "ssl.truststore.certificates" not in untrusted.java_properties()
    with pytest.raises(eventflow.ToolFailed, match=r"(?s)kafka-get-offsets.sh exited 1: .*SSL handshake failed"):
        eventflow.end_offsets(local_tools, untrusted)


def test_a_reader_whose_acls_lack_read_on_todo_events_is_refused_by_the_broker(
        reading: Reading, local_tools: eventflow.Tools) -> None:
    settings = reading.settings()
    publish_task_created(reading.cluster, str(uuid.uuid4()))
    user = reading.reader.plan.user(reading.reader.user)
    # Bad input: the reader's ACLs without Read on todo-events (Describe stays: the offsets can still be had).
    no_read = dataclasses.replace(user, acls=tuple(
        dataclasses.replace(a, operations=tuple(op for op in a.operations if op != "Read"))
        if a.resource_type == "topic" and a.name == eventflow.TOPIC else a for a in user.acls))
    reading.cluster.apply_users([no_read])
    with pytest.raises(eventflow.ToolFailed, match=r"(?s)^kafka-console-consumer read 0 of the \d+ records of "
                                                   r"todo-events partition \d+ from offset 0: .*"
                                                   r"Not authorized to access topics: \[todo-events\]"):
        eventflow.records_since(local_tools, settings, {})
