"""The event flow the smoke test proves in a running environment (`make smoke`), as decisions apart from effects.

An event published through the backend's Dapr sidecar lands on `todo-events`, and the analytics consumer
counts it (contract: workloads/README.md, "Events" and "The consumer's side"):

1. the backend creates a todo through its own HTTP API, from inside its pod (`create_todo_argv`), so that it
   publishes TaskCreated through its sidecar, keyed by the todo id;
2. Kafka's console tools read what landed on the topic, authenticating as the platform requires (`Reader`:
   the listener the Dapr pub/sub component dials, as the Kafka CR declares it; a KafkaUser whose ACLs let it
   read the topic, with the Secret Strimzi writes for it; the cluster CA Secret where the listener is TLS;
   the settings themselves come from todo_cloud.runtime.kafka_client): the end offsets before and after,
   then the new records (`end_offsets`, `records_since`);
3. the analytics consumer shows the delivery of that event (`/attempts?id=`) and its count (`/counts`),
   read from inside its pod (`consumer_get_argv`).

Every choice is derived from the deployed (or rendered) objects: the Kafka CR with its node pools, KafkaUsers
and KafkaTopics (todo_cloud.runtime.kafka_plan), the Dapr pub/sub Component and the Subscriptions. Where a
command runs is the caller's: `run_flow` drives the whole flow through an `Exec` (a command in a container of
a pod: the Kubernetes exec API in tests/smoke, a recording fake in tests/kind); a `Tools` runs one console
tool (in a broker pod, `pod_argv`; from the runtime harness's Kafka jars on this machine in tests/runtime).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from todo_cloud.render import Manifest, find
from todo_cloud.runtime import kafka_plan
from todo_cloud.runtime.kafka_client import ClientSettings, client_settings
from todo_cloud.runtime.kafka_plan import KafkaPlan, component_metadata

# The workload contract's side of the flow (workloads/README.md).
PUBLISHER = "backend"
CONSUMER = "analytics"
TOPIC = "todo-events"
EVENT_TYPE = "TaskCreated"
PUBSUB_TYPE = "pubsub.kafka"
# Strimzi's Kafka image: where the distribution is, and the container of a broker pod.
KAFKA_HOME = "/opt/kafka"
BROKER_CONTAINER = "kafka"
# A console tool run inside a broker's container shares its memory limit: a small heap, and none of the
# broker's own JVM settings (agents, JMX port, log configuration) that the container's environment may carry.
TOOL_ENV = {"KAFKA_HEAP_OPTS": "-Xms32m -Xmx128m",
            "KAFKA_JVM_PERFORMANCE_OPTS": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k"}
TOOL_ENV_UNSET = ("KAFKA_OPTS", "JMX_PORT", "KAFKA_JMX_OPTS", "KAFKA_LOG4J_OPTS")
# How long the console consumer waits for the records the end offsets promise.
CONSUME_TIMEOUT_MS = 30000
_RECORD = re.compile(r"^Partition:(\d+)\tOffset:(\d+)\t([^\t]*)\t(.*)$")


class FlowError(ValueError):
    """The objects do not allow the flow (no reader, no subscriber, ...); the message names what is missing."""


class ToolFailed(RuntimeError):
    """A console tool exited non-zero; the message names it and carries its error output."""


# --- what reads the topic ---------------------------------------------------------------------------------


def pubsub_component(objects: Iterable[Manifest]) -> Manifest:
    """The Dapr Kafka pub/sub Component (one is expected)."""
    found = [c for c in find(objects, "Component") if (c.get("spec") or {}).get("type") == PUBSUB_TYPE]
    if len(found) != 1:
        raise FlowError(f"expected one Dapr Component of type {PUBSUB_TYPE}, found {len(found)}")
    return found[0]


@dataclass(frozen=True)
class Reader:
    """A client that may read the topic: a listener of the Kafka CR, a KafkaUser, the bootstrap address."""

    plan: KafkaPlan
    listener: str
    user: str
    bootstrap: str

    @property
    def secrets(self) -> list[str]:
        """The Secrets the client needs (Strimzi writes them): the KafkaUser's, and the cluster CA's for TLS."""
        tls = self.plan.listener(self.listener).tls
        return [self.user, *([self.plan.cluster_ca_secret] if tls else [])]

    def settings(self, secrets: Mapping[str, Mapping[str, str]]) -> ClientSettings:
        """The client settings, from the Secrets' decoded data (todo_cloud.runtime.kafka_client)."""
        return client_settings(self.plan, self.listener, self.user, secrets, self.bootstrap)


def reader(objects: list[Manifest], topic: str = TOPIC, *, namespace: str = "todo-chatbot") -> Reader:
    """How to read `topic` as the platform allows: over the listener whose port the pub/sub Component's
    `brokers` dials, as a KafkaUser whose ACLs allow Read on the topic (the Component's own user first)."""
    plan = kafka_plan.plan(objects, namespace=namespace)
    component = pubsub_component(objects)
    where = f"Component/{component['metadata']['name']}"
    brokers = str(component_metadata(component).get("brokers") or "")
    first = brokers.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise FlowError(f"{where} metadata brokers: {brokers!r} is not host:port")
    listener = next((sl for sl in plan.listeners if sl.port == int(port)), None)
    if listener is None:
        raise FlowError(f"{where} metadata brokers: port {port} is no listener of Kafka/{plan.cluster} "
                        f"({', '.join(f'{sl.name}={sl.port}' for sl in plan.listeners)})")
    readers = [u for u in plan.users if u.allows("Read", "topic", topic)
               and u.authentication == (listener.authentication or u.authentication)]
    if not readers:
        raise FlowError(f"no KafkaUser may read topic {topic} over listener {listener.name} (KafkaUsers: "
                        f"{', '.join(u.name for u in plan.users) or 'none'}): a Dapr app subscribing to it "
                        "gives the pub/sub user Read on it")
    own = component_metadata(component).get("saslUsername")
    user = next((u for u in readers if u.name == own), readers[0])
    return Reader(plan, listener.name, user.name, first)


def subscribers(objects: Iterable[Manifest], topic: str = TOPIC) -> list[str]:
    """The Dapr app ids a Subscription delivers `topic` to, sorted."""
    return sorted({app for s in find(objects, "Subscription") if (s.get("spec") or {}).get("topic") == topic
                   for app in s.get("scopes") or []})


def check_subscribed(objects: Iterable[Manifest], app: str = CONSUMER, topic: str = TOPIC) -> None:
    """FlowError unless a Subscription delivers `topic` to `app`."""
    apps = subscribers(objects, topic)
    if app not in apps:
        raise FlowError(f"no Subscription delivers {topic} to {app} (it goes to: {', '.join(apps) or 'no app'})")


# --- Kafka's console tools ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolCall:
    """One run of a Kafka console tool: its main class and bin/ script, its arguments, its client properties
    (passed as a `--command-config` file)."""

    main_class: str
    script: str
    args: tuple[str, ...]
    properties: Mapping[str, str]


@dataclass(frozen=True)
class Record:
    """A record the console consumer printed."""

    partition: int
    offset: int
    key: str
    value: str

    def json(self) -> Any:
        return json.loads(self.value)


Tools = Callable[[ToolCall], str]
"""Runs a ToolCall and returns its standard output; raises ToolFailed when the tool exits non-zero."""


def properties_text(props: Mapping[str, str]) -> str:
    """A Java properties file of `props` (backslashes, line breaks and the separators escaped)."""
    def esc(text: str, key: bool) -> str:
        text = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return text.replace("=", "\\=").replace(":", "\\:").replace(" ", "\\ ") if key else text
    return "".join(f"{esc(k, True)}={esc(v, False)}\n" for k, v in sorted(props.items()))


def offsets_call(settings: ClientSettings, topic: str) -> ToolCall:
    """kafka-get-offsets: the end offset of every partition of `topic`."""
    return ToolCall("org.apache.kafka.tools.GetOffsetShell", "kafka-get-offsets.sh",
                    ("--bootstrap-server", settings.bootstrap, "--topic", re.escape(topic), "--time", "latest"),
                    settings.java_properties())


def consume_call(settings: ClientSettings, topic: str, partition: int, offset: int, count: int) -> ToolCall:
    """kafka-console-consumer: `count` records of one partition from `offset` (assigned, no consumer group, so
    that no group ACL is needed and no subscriber's group is joined), with partition, offset and key."""
    formatter = [arg for prop in ("print.partition=true", "print.offset=true", "print.key=true")
                 for arg in ("--formatter-property", prop)]
    return ToolCall("org.apache.kafka.tools.consumer.ConsoleConsumer", "kafka-console-consumer.sh",
                    ("--bootstrap-server", settings.bootstrap, "--topic", topic, "--partition", str(partition),
                     "--offset", str(offset), "--max-messages", str(count), "--timeout-ms", str(CONSUME_TIMEOUT_MS),
                     *formatter), settings.java_properties())


def parse_offsets(text: str, topic: str) -> dict[int, int]:
    """partition -> end offset from kafka-get-offsets' `topic:partition:offset` lines."""
    out: dict[int, int] = {}
    for line in text.splitlines():
        name, _, rest = line.strip().rpartition(":")
        head, _, partition = name.rpartition(":")
        if head == topic and partition.isdigit() and rest.isdigit():
            out[int(partition)] = int(rest)
    return out


def parse_records(text: str) -> list[Record]:
    """The records of the console consumer's output (other lines, warnings or logs, are ignored)."""
    return [Record(int(m[1]), int(m[2]), m[3], m[4]) for m in map(_RECORD.match, text.splitlines()) if m]


def end_offsets(tools: Tools, settings: ClientSettings, topic: str = TOPIC) -> dict[int, int]:
    offsets = parse_offsets(tools(offsets_call(settings, topic)), topic)
    if not offsets:
        raise ToolFailed(f"kafka-get-offsets reported no partition of {topic}")
    return offsets


def records_since(tools: Tools, settings: ClientSettings, before: Mapping[int, int],
                  topic: str = TOPIC) -> list[Record]:
    """Every record appended to `topic` since the end offsets `before`, partition by partition. The console
    consumer ends with exit code 0 even when the broker refuses it (it logs the error and stops), so fewer
    records than the offsets promise is a failure, with what the tool printed."""
    records: list[Record] = []
    for partition, end in sorted(end_offsets(tools, settings, topic).items()):
        start = before.get(partition, 0)
        if end <= start:
            continue
        output = tools(consume_call(settings, topic, partition, start, end - start))
        got = parse_records(output)
        if len(got) < end - start:
            raise ToolFailed(f"kafka-console-consumer read {len(got)} of the {end - start} records of {topic} "
                             f"partition {partition} from offset {start}: {output.strip()[-3000:]}")
        records += got
    return records


def pod_argv(call: ToolCall) -> list[str]:
    """The command that runs `call` in a broker's container: the tool with a small heap, its properties in a
    private temporary file that is removed whatever happens. The properties (with the password) are an argument
    of the shell that writes the file, visible inside that container only, whose broker key already makes its
    holder a Kafka super user; the tool's own command line holds no credential."""
    script = ('umask 077; f=$(mktemp); trap \'rm -f "$f"\' EXIT; printf "%s" "$1" > "$f"; shift; '
              '"$@" --command-config "$f"')
    unset = [arg for name in TOOL_ENV_UNSET for arg in ("-u", name)]
    return ["sh", "-c", script, "sh", properties_text(call.properties), "env", *unset,
            *(f"{k}={v}" for k, v in TOOL_ENV.items()), f"{KAFKA_HOME}/bin/{call.script}", *call.args]


# --- the workloads' side ------------------------------------------------------------------------------------

# Run with the image's Python inside an app container: a request to the workload itself on 127.0.0.1 (no
# Service, Gateway or NetworkPolicy in the way), its answer printed as JSON.
_REQUEST = """import json, os, sys, urllib.request
method, path, body = sys.argv[1], sys.argv[2], sys.argv[3]
url = "http://127.0.0.1:" + os.environ.get("PORT", sys.argv[4]) + path
request = urllib.request.Request(url, data=body.encode() or None, method=method,
                                 headers={"content-type": "application/json"})
print(urllib.request.urlopen(request, timeout=20).read().decode())
"""


def workload_request_argv(method: str, path: str, body: Any = None, *, port: int = 8000) -> list[str]:
    """The command that sends one HTTP request to the workload of the container it runs in."""
    return ["python", "-c", _REQUEST, method, path, "" if body is None else json.dumps(body), str(port)]


def create_todo_argv(marker: str) -> list[str]:
    """The backend creates a todo (and publishes TaskCreated through its sidecar); `marker` names it."""
    return workload_request_argv("POST", "/api/todos", {"title": f"smoke test {marker}", "user_id": marker})


def delete_todo_argv(todo_id: str) -> list[str]:
    return workload_request_argv("DELETE", f"/api/todos/{todo_id}")


def consumer_get_argv(path: str) -> list[str]:
    """A GET of the analytics consumer's own API: `/counts` ({by_type, by_topic, ...}), `/attempts?id=...`
    ({attempts: [{id, type, topic, status, ...}]})."""
    return workload_request_argv("GET", path)


def published_event(records: Iterable[Record], todo_id: str) -> Record | None:
    """The record of the TaskCreated event of todo `todo_id`: keyed by the todo id, a CloudEvent of that type
    whose data is the todo."""
    for record in records:
        try:
            event = record.json()
        except ValueError:
            continue
        if (record.key == todo_id and isinstance(event, dict) and event.get("type") == EVENT_TYPE
                and (event.get("data") or {}).get("id") == todo_id):
            return record
    return None


# --- the whole flow -----------------------------------------------------------------------------------------

T = TypeVar("T")
Exec = Callable[[str, str, Sequence[str]], str]
"""Runs a command in a container (pod, container, argv) and returns its standard output; raises ToolFailed when
the command exits non-zero."""
Poll = Callable[[Callable[[], "T | None"], float], "T | None"]


def poll(check: Callable[[], T | None], timeout: float, every: float = 2.0) -> T | None:
    """`check()`'s first result that is not None within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None or time.monotonic() > deadline:
            return result
        time.sleep(every)


@dataclass(frozen=True)
class Pods:
    """Where the flow runs: a broker pod (console tools), a publisher pod, the consumer's pods."""

    broker: str
    publisher: str
    consumers: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    """What the flow saw: the todo, its record on the topic, the consumer's deliveries and counts."""

    todo_id: str
    record: Record
    event_id: str
    deliveries: list[dict[str, Any]]
    counts_before: dict[str, Any]
    counts_after: dict[str, Any]

    def counted(self, key: str, name: str) -> int:
        """How much the consumer's count `key` (by_type, by_topic) of `name` grew during the flow."""
        return int(self.counts_after.get(key, {}).get(name, 0)) - int(self.counts_before.get(key, {}).get(name, 0))


def _sum_counts(counts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for one in counts:
        for key, value in one.items():
            if isinstance(value, dict):
                bucket = total.setdefault(key, {})
                for name, n in value.items():
                    bucket[name] = bucket.get(name, 0) + int(n)
            elif isinstance(value, int):
                total[key] = total.get(key, 0) + value
    return total


def run_flow(run: Exec, pods: Pods, settings: ClientSettings, marker: str, *, wait: Poll = poll,
             delivery_timeout: float = 120) -> Flow:
    """The backend publishes a TaskCreated through its sidecar (it creates a todo named `marker`), the record is
    read back from the topic, and the consumer delivers and counts it. FlowError says which step failed; the
    todo is deleted again whatever happens."""
    def counts() -> dict[str, Any]:
        return _sum_counts(json.loads(run(pod, CONSUMER, consumer_get_argv("/counts"))) for pod in pods.consumers)

    def tools(call: ToolCall) -> str:
        return run(pods.broker, BROKER_CONTAINER, pod_argv(call))

    counts_before = counts()
    before = end_offsets(tools, settings)
    todo = json.loads(run(pods.publisher, PUBLISHER, create_todo_argv(marker)))
    try:
        records = records_since(tools, settings, before)
        record = published_event(records, todo["id"])
        if record is None:
            raise FlowError(f"the {EVENT_TYPE} event of todo {todo['id']} is not on {TOPIC} (new records: "
                            + (", ".join(f"{r.partition}/{r.offset} key {r.key}" for r in records) or "none") + ")")
        event_id = str(record.json()["id"])

        def delivered() -> list[dict[str, Any]] | None:
            seen = [d for pod in pods.consumers
                    for d in json.loads(run(pod, CONSUMER, consumer_get_argv(f"/attempts?id={event_id}")))["attempts"]]
            return seen if any(d.get("status") == "SUCCESS" and d.get("topic") == TOPIC for d in seen) else None

        deliveries = wait(delivered, delivery_timeout)
        if deliveries is None:
            raise FlowError(f"{CONSUMER} did not process the {EVENT_TYPE} event {event_id} of {TOPIC} within "
                            f"{delivery_timeout:.0f} s (its deliveries: `GET /attempts?id={event_id}` in its pod)")
        return Flow(todo["id"], record, event_id, deliveries, counts_before, counts())
    finally:
        run(pods.publisher, PUBLISHER, delete_todo_argv(todo["id"]))
