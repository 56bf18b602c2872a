"""The smoke test's event flow on kind (`make smoke ENV=local`, todo_cloud.eventflow) without a cluster: its
connection settings derived from the objects rendered for `local` (with the analytics consumer wired in, as
workloads/README.md says), and the recorded sequence of commands it runs in the pods, replayed with canned
answers. The same Kafka client runs against real brokers in tests/runtime/test_smoke_kafka_client.py."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.kind.support import ANALYTICS_WIRING
from todo_cloud import envs, eventflow
from todo_cloud.render import Manifest, find, render_environment
from todo_cloud.runtime.kafka_client import SecretMissing, jaas_config

NS = envs.get("local").namespace
CA = "-----BEGIN CERTIFICATE-----\nMIIBcluster==\n-----END CERTIFICATE-----\n"
PASSWORD = "s3cret=with:odd\\chars"
# What Strimzi writes: the KafkaUser's Secret and the cluster CA's.
SECRETS = {"dapr-pubsub": {"password": PASSWORD, "sasl.jaas.config": jaas_config("dapr-pubsub", PASSWORD)},
           "todo-chatbot-kafka-cluster-ca-cert": {"ca.crt": CA}}
TODO = "0b7c1f4e-6d2a-4f0e-9a51-3c1d2e4f5a6b"
EVENT = {"specversion": "1.0", "id": "ev-1", "source": "backend", "type": "TaskCreated", "subject": TODO,
         "data": {"id": TODO, "version": 1}}


@pytest.fixture(scope="module")
def wired(upstream_charts: Any) -> list[Manifest]:
    del upstream_charts
    return render_environment("local", ANALYTICS_WIRING)


# --- the connection settings --------------------------------------------------------------------------------


def test_the_smoke_reads_over_the_listener_the_pubsub_component_dials_as_the_pubsub_user(
        wired: list[Manifest]) -> None:
    reader = eventflow.reader(wired, namespace=NS)
    component = eventflow.pubsub_component(wired)
    brokers = next(m["value"] for m in component["spec"]["metadata"] if m["name"] == "brokers")
    listener = reader.plan.listener(reader.listener)
    assert (reader.bootstrap, f"{listener.port}") == (brokers, brokers.rpartition(":")[2])
    assert (listener.name, listener.tls, listener.authentication) == ("tls", True, "scram-sha-512")
    assert reader.user == "dapr-pubsub" and reader.plan.user("dapr-pubsub").allows("Read", "topic", "todo-events")
    assert reader.secrets == ["dapr-pubsub", "todo-chatbot-kafka-cluster-ca-cert"]


def test_the_smoke_authenticates_with_scram_sha_512_over_tls_with_the_cluster_ca(wired: list[Manifest]) -> None:
    props = eventflow.reader(wired, namespace=NS).settings(SECRETS).java_properties()
    assert props == {"bootstrap.servers": "todo-chatbot-kafka-kafka-bootstrap:9093", "security.protocol": "SASL_SSL",
                     "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": SECRETS["dapr-pubsub"]["sasl.jaas.config"],
                     "ssl.truststore.type": "PEM", "ssl.truststore.certificates": CA}


def test_the_properties_file_keeps_the_password_and_the_certificate_as_they_are() -> None:
    text = eventflow.properties_text({"sasl.jaas.config": jaas_config("u", PASSWORD),
                                      "ssl.truststore.certificates": CA})
    # java.util.Properties.load reads `\\` as a backslash and `\n` as a line break; nothing else is escaped in values.
    assert text == ('sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="u" '
                    'password="s3cret=with:odd\\\\chars";\n'
                    "ssl.truststore.certificates=-----BEGIN CERTIFICATE-----\\nMIIBcluster==\\n"
                    "-----END CERTIFICATE-----\\n\n")


@pytest.mark.parametrize(("missing", "message"), [
    ("dapr-pubsub", "Secret dapr-pubsub is missing (the Strimzi user operator writes it for KafkaUser dapr-pubsub)"),
    ("todo-chatbot-kafka-cluster-ca-cert",
     "Secret todo-chatbot-kafka-cluster-ca-cert is missing (the Strimzi cluster operator writes it)"),
])
def test_a_missing_secret_is_named_with_who_writes_it(wired: list[Manifest], missing: str, message: str) -> None:
    secrets = {name: data for name, data in SECRETS.items() if name != missing}
    with pytest.raises(SecretMissing) as raised:
        eventflow.reader(wired, namespace=NS).settings(secrets)
    assert str(raised.value) == message


def test_without_a_user_allowed_to_read_todo_events_the_smoke_says_which_users_there_are(
        wired: list[Manifest]) -> None:
    objects = copy.deepcopy(wired)
    users = find(objects, "KafkaUser")
    for user in users:  # the pub/sub user's, and Kafka UI's where it runs (local)
        acls = user["spec"]["authorization"]["acls"]
        for acl in acls:
            acl["operations"] = [op for op in acl["operations"] if op != "Read"]
        user["spec"]["authorization"]["acls"] = [acl for acl in acls if acl["operations"]]
    names = ", ".join(sorted(u["metadata"]["name"] for u in users))
    assert "dapr-pubsub" in names
    with pytest.raises(eventflow.FlowError, match=r"^no KafkaUser may read topic todo-events over listener tls "
                                                  rf"\(KafkaUsers: {names}\)"):
        eventflow.reader(objects, namespace=NS)


def test_a_component_dialing_no_listener_of_the_kafka_cr_is_named(wired: list[Manifest]) -> None:
    objects = copy.deepcopy(wired)
    component = eventflow.pubsub_component(objects)
    next(m for m in component["spec"]["metadata"] if m["name"] == "brokers")["value"] = "elsewhere:9094"
    with pytest.raises(eventflow.FlowError, match=r"^Component/pubsub metadata brokers: port 9094 is no listener of "
                                                  r"Kafka/todo-chatbot-kafka \(plain=9092, tls=9093\)$"):
        eventflow.reader(objects, namespace=NS)


def test_the_consumer_must_be_subscribed_to_todo_events(wired: list[Manifest]) -> None:
    eventflow.check_subscribed(wired)
    without = [o for o in wired if o["kind"] != "Subscription"]
    with pytest.raises(eventflow.FlowError, match=r"^no Subscription delivers todo-events to analytics "
                                                  r"\(it goes to: no app\)$"):
        eventflow.check_subscribed(without)


# --- the recorded sequence ------------------------------------------------------------------------------------


@dataclass
class FakePods:
    """Recording stand-in for the Kubernetes exec API, answering as the workloads and Kafka's tools would."""

    offsets: list[str] = field(default_factory=lambda: [
        "todo-events:0:5\ntodo-events:1:7\ntodo-events:2:0\n", "todo-events:0:5\ntodo-events:1:8\ntodo-events:2:0\n"])
    record: str = f"Partition:1\tOffset:7\t{TODO}\t{json.dumps(EVENT)}\n"
    attempts: list[list[dict[str, Any]]] = field(default_factory=lambda: [
        [], [{"id": "ev-1", "type": "TaskCreated", "topic": "todo-events", "status": "SUCCESS"}]])
    counts: list[dict[str, Any]] = field(default_factory=lambda: [
        {"by_type": {"TaskCreated": 3}, "by_topic": {"todo-events": 3}},
        {"by_type": {"TaskCreated": 4}, "by_topic": {"todo-events": 4}}])
    calls: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def __call__(self, pod: str, container: str, argv: Sequence[str]) -> str:
        self.calls.append((pod, container, list(argv)))
        if container == "kafka":
            tool = next(a for a in argv if a.startswith("/opt/kafka/bin/"))
            return self.offsets.pop(0) if tool.endswith("kafka-get-offsets.sh") else self.record
        method, path = argv[3], argv[4]
        if (method, path) == ("POST", "/api/todos"):
            return json.dumps({"id": TODO, "title": json.loads(argv[5])["title"]})
        if method == "DELETE":
            return ""
        if path == "/counts":
            return json.dumps(self.counts.pop(0))
        return json.dumps({"attempts": self.attempts.pop(0) if len(self.attempts) > 1 else self.attempts[0]})

    def summary(self) -> list[str]:
        """One line per call: pod, then the tool and its partition/offset, or the workload request."""
        lines = []
        for pod, _container, argv in self.calls:
            if pod == "broker-0":
                tool = next(a for a in argv if a.startswith("/opt/kafka/bin/")).rsplit("/", 1)[1]
                where = argv[argv.index("--partition") + 1:argv.index("--partition") + 4:2] if "--partition" in argv \
                    else []
                lines.append(" ".join([pod, tool, *where]))
            else:
                lines.append(f"{pod} {argv[3]} {argv[4]}")
        return lines


def polls(check: Any, timeout: float) -> Any:
    """`eventflow.poll` without the sleeping: up to three tries."""
    del timeout
    return next((r for r in (check() for _ in range(3)) if r is not None), None)


def run(fake: FakePods, wired: list[Manifest]) -> eventflow.Flow:
    settings = eventflow.reader(wired, namespace=NS).settings(SECRETS)
    return eventflow.run_flow(fake, eventflow.Pods("broker-0", "backend-0", ("analytics-0",)), settings,
                              "smoke-1", wait=polls)


def test_the_flow_reads_counts_then_offsets_creates_a_todo_reads_the_new_record_and_checks_the_consumer(
        wired: list[Manifest]) -> None:
    fake = FakePods()
    flow = run(fake, wired)
    assert fake.summary() == [
        "analytics-0 GET /counts",
        "broker-0 kafka-get-offsets.sh",
        "backend-0 POST /api/todos",
        "broker-0 kafka-get-offsets.sh",
        "broker-0 kafka-console-consumer.sh 1 7",  # only the partition that grew, from its old end
        "analytics-0 GET /attempts?id=ev-1",
        "analytics-0 GET /attempts?id=ev-1",
        "analytics-0 GET /counts",
        f"backend-0 DELETE /api/todos/{TODO}",
    ]
    assert (flow.todo_id, flow.event_id, flow.record.partition, flow.record.offset) == (TODO, "ev-1", 1, 7)
    assert flow.counted("by_type", "TaskCreated") == 1 and flow.counted("by_topic", "todo-events") == 1


def test_the_kafka_commands_run_the_pinned_tools_with_the_settings_in_a_private_file(wired: list[Manifest]) -> None:
    fake = FakePods()
    run(fake, wired)
    kafka = [(container, argv) for _pod, container, argv in fake.calls if container == "kafka"]
    consume = kafka[2][1]
    assert consume[:2] == ["sh", "-c"] and "umask 077" in consume[2] and 'rm -f "$f"' in consume[2]
    props = consume[4]
    assert "security.protocol=SASL_SSL\n" in props and "sasl.mechanism=SCRAM-SHA-512\n" in props
    assert "ssl.truststore.type=PEM\n" in props and 'password="s3cret=with:odd\\\\chars"' in props
    tool = consume.index("/opt/kafka/bin/kafka-console-consumer.sh")
    assert consume[5:tool] == ["env", "-u", "KAFKA_OPTS", "-u", "JMX_PORT", "-u", "KAFKA_JMX_OPTS", "-u",
                               "KAFKA_LOG4J_OPTS", "KAFKA_HEAP_OPTS=-Xms32m -Xmx128m",
                               "KAFKA_JVM_PERFORMANCE_OPTS=-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k"]
    assert consume[tool + 1:] == ["--bootstrap-server", "todo-chatbot-kafka-kafka-bootstrap:9093", "--topic",
                                  "todo-events", "--partition", "1", "--offset", "7", "--max-messages", "1",
                                  "--timeout-ms", "30000", "--formatter-property", "print.partition=true",
                                  "--formatter-property", "print.offset=true", "--formatter-property", "print.key=true"]
    assert not [a for _c, argv in kafka for a in argv[5:] if PASSWORD in a], "no credential on the tool's command line"


def test_a_record_missing_from_todo_events_fails_the_flow_and_the_todo_is_deleted(wired: list[Manifest]) -> None:
    fake = FakePods(record=f"Partition:1\tOffset:7\tsomething-else\t{json.dumps({**EVENT, 'type': 'TaskUpdated'})}\n")
    with pytest.raises(eventflow.FlowError, match=rf"^the TaskCreated event of todo {TODO} is not on todo-events "
                                                  r"\(new records: 1/7 key something-else\)$"):
        run(fake, wired)
    assert fake.summary()[-1] == f"backend-0 DELETE /api/todos/{TODO}"


def test_an_event_the_consumer_never_processes_fails_the_flow_naming_it(wired: list[Manifest]) -> None:
    fake = FakePods(attempts=[[{"id": "ev-1", "topic": "todo-events", "status": "RETRY"}]])
    with pytest.raises(eventflow.FlowError, match=r"^analytics did not process the TaskCreated event ev-1 of "
                                                  r"todo-events within 120 s"):
        run(fake, wired)
    assert fake.summary()[-1] == f"backend-0 DELETE /api/todos/{TODO}"


def test_fewer_records_than_the_offsets_promise_is_a_failure_with_the_tools_output(wired: list[Manifest]) -> None:
    denied = "ERROR Error processing message, terminating consumer process: TopicAuthorizationException\n"
    fake = FakePods(record=denied)
    with pytest.raises(eventflow.ToolFailed, match=r"^kafka-console-consumer read 0 of the 1 records of todo-events "
                                                   r"partition 1 from offset 7: ERROR .*TopicAuthorizationException$"):
        run(fake, wired)
