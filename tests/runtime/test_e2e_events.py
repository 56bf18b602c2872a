"""Events end to end through the real processes of the runtime environment (production by default: 3 brokers,
TLS and SCRAM-SHA-512, authorization), each configured from the rendered objects (support.e2e says where anything
is rewritten for loopback): the backend publishes through its daprd to Kafka, the analytics consumer
receives through its own daprd, and a poison event is retried as the rendered Resiliency policy says, then
dead-lettered. Expectations come from the rendered objects and the workloads' contract (workloads/README.md);
what is asserted is what the broker holds and what the consumer recorded."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable

from tests.runtime.support.e2e import PlatformRun, wait_for
from todo_cloud.runtime import dapr_pubsub, daprd_plan
from todo_cloud.runtime.kafka import Record

PUBLISHER, CONSUMER = "backend", "analytics"
# The workloads' contract: data.poison = true fails every delivery (workloads/README.md, "Poison marker").
POISON_FIELD = "poison"


def component(run: PlatformRun, type_prefix: str) -> dict:
    (found,) = [c for c in daprd_plan.dapr_objects(run.rendered, "Component")
                if c["spec"]["type"].startswith(type_prefix)]
    return found


def subscription(run: PlatformRun, app_id: str, topic: str) -> dict:
    (found,) = [s for s in daprd_plan.dapr_objects(run.rendered, "Subscription")
                if s["spec"]["topic"] == topic and daprd_plan.in_scope(s, app_id)]
    return found


def inbound_retry_policy(run: PlatformRun, pubsub: str) -> dict:
    """The retry policy the rendered Resiliency applies to deliveries of the pub/sub component to its apps."""
    (res,) = [r for r in daprd_plan.dapr_objects(run.rendered, "Resiliency") if daprd_plan.in_scope(r, CONSUMER)]
    spec = res["spec"]
    return spec["policies"]["retries"][spec["targets"]["components"][pubsub]["inbound"]["retry"]]


def events_on(run: PlatformRun, topic: str, predicate: Callable[[dict], bool]) -> list[tuple[Record, dict]]:
    """The records of `topic` whose value is a CloudEvent matching `predicate`, with the event parsed."""
    out = []
    for record in run.kafka.read_topic(topic):
        try:
            event = json.loads(record.value or b"")
        except ValueError:
            continue  # other tests' probes on the shared cluster are not CloudEvents
        if isinstance(event, dict) and predicate(event):
            out.append((record, event))
    return out


def attempts(run: PlatformRun, event_id: str) -> list[dict]:
    status, body = run.apps[CONSUMER].request("GET", f"/attempts?id={event_id}")
    assert status == 200, body
    return body["attempts"]


def test_a_todos_events_land_on_todo_events_in_the_partition_of_its_key_as_cloudevents(
        platform_run: PlatformRun) -> None:
    run = platform_run
    backend = run.apps[PUBLISHER]
    status, todo = backend.request("POST", "/api/todos", {"title": "e2e: publish", "user_id": "e2e-events"})
    assert status == 201, (todo, run.logs)
    assert backend.request("PATCH", f"/api/todos/{todo['id']}", {"completed": True})[0] == 200
    assert backend.request("DELETE", f"/api/todos/{todo['id']}")[0] == 204

    topic = "todo-events"
    found = wait_for(f"three events of todo {todo['id']} on {topic}",
                     lambda: (lambda f: f if len(f) == 3 else None)(
                         events_on(run, topic, lambda e: e.get("subject") == todo["id"])), run=run)
    key = todo["id"].encode()
    partitions = run.kafka.plan.topic(topic).partitions
    assert {r.partition for r, _ in found} == {dapr_pubsub.partition(key, partitions)}, \
        "every event of one todo is in the partition its key hashes to (the Dapr Kafka producer's partitioner)"
    assert all(r.key == key for r, _ in found)
    in_offset_order = [e for _, e in sorted(found, key=lambda f: f[0].offset)]
    assert [(e["type"], e["data"]["version"]) for e in in_offset_order] == [
        ("TaskCreated", 1), ("TaskUpdated", 2), ("TaskDeleted", 3)], "one todo's events keep their order"
    pubsub = component(run, "pubsub.")["metadata"]["name"]
    for event in in_offset_order:
        # The envelope of the workloads' contract, plus what Dapr adds; the consumer relies on id, type, data.
        assert (event["specversion"], event["source"], event["datacontenttype"]) == ("1.0", PUBLISHER,
                                                                                     "application/json")
        assert event["partitionkey"] == event["subject"] == todo["id"]
        assert str(uuid.UUID(event["id"])) == event["id"] and event["data"]["id"] == todo["id"]
        assert (event["topic"], event["pubsubname"]) == (topic, pubsub)
        assert event["time"].endswith(("Z", "+00:00"))
    assert len({e["id"] for e in in_offset_order}) == 3


def test_the_analytics_consumer_receives_each_event_once_through_its_sidecar(platform_run: PlatformRun) -> None:
    run = platform_run
    status, message = run.apps[PUBLISHER].request("POST", "/api/chat", {"user_id": "e2e-chat", "content": "hi"})
    assert status == 202, message
    status, todo = run.apps[PUBLISHER].request("POST", "/api/todos", {"title": "e2e: consume"})
    assert status == 201, todo
    sent: dict[str, tuple[str, str]] = {}
    for topic, key in (("chat-events", message["conversation_id"]), ("todo-events", todo["id"])):
        found = wait_for(f"the event keyed {key} on {topic}",
                         lambda t=topic, k=key: events_on(run, t, lambda ev, k=k: ev.get("subject") == k), run=run)
        sent.update({e["id"]: (topic, e["type"]) for _, e in found})
    assert len(sent) == 2
    for event_id, (topic, event_type) in sent.items():
        got = wait_for(f"delivery of {event_type} {event_id} to {CONSUMER}",
                       lambda i=event_id: attempts(run, i), timeout=60, run=run)
        assert [(a["topic"], a["type"], a["status"]) for a in got] == [(topic, event_type, "SUCCESS")], got
        route = subscription(run, CONSUMER, topic)["spec"]["routes"]["default"]
        assert route == f"/events/{topic}"


def test_a_poison_event_is_retried_as_the_resiliency_policy_says_then_dead_lettered_once(
        platform_run: PlatformRun) -> None:
    run = platform_run
    pubsub = component(run, "pubsub.")["metadata"]["name"]
    topic = "todo-events"
    dead_letter_topic = subscription(run, CONSUMER, topic)["spec"]["deadLetterTopic"]
    policy = inbound_retry_policy(run, pubsub)
    waits = dapr_pubsub.retry_waits(policy)
    key = f"e2e-poison-{uuid.uuid4()}"

    def publish(data: dict) -> str:
        event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": PUBLISHER, "type": "TaskCreated",
                 "subject": key, "datacontenttype": "application/json", "data": data}
        status, body = run.sidecars[PUBLISHER].request(
            "POST", f"v1.0/publish/{pubsub}/{topic}?metadata.partitionKey={key}", json.dumps(event).encode(),
            {"content-type": "application/cloudevents+json"})
        assert status == 204, body
        return event["id"]

    # One key, one partition: a good event before the poison one and one after it (which waits behind it).
    before, poison, after = publish({"n": 1}), publish({"n": 2, POISON_FIELD: True}), publish({"n": 3})
    budget = sum(high for _, high in waits) + 30
    dead = wait_for(f"the poison event {poison} on {dead_letter_topic}", lambda: [
        a for a in attempts(run, poison) if a["topic"] == dead_letter_topic], timeout=budget, run=run)
    wait_for(f"delivery of the event after the poison one ({after})", lambda: attempts(run, after), run=run)

    tried = [a for a in attempts(run, poison) if a["topic"] == topic]
    assert [a["status"] for a in tried] == ["RETRY"] * (policy["maxRetries"] + 1), \
        f"{policy['maxRetries']} retries after the first attempt ({run.sidecars[CONSUMER].log})"
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(tried)]
    # Each wait within the policy's randomised bounds; a delivery's own time (milliseconds here) only adds.
    for i, (gap, (low, high)) in enumerate(zip(gaps, waits, strict=True)):
        assert low - 0.05 <= gap <= high + 1.0, f"wait before retry {i + 1}: {gap:.3f} s, policy {low:.3f}..{high:.3f}"
    assert [a["status"] for a in dead] == ["SUCCESS"], "the dead letter is delivered to its subscriber once"
    assert dead[0]["time"] >= tried[-1]["time"]

    on_dlq = events_on(run, dead_letter_topic, lambda e: e.get("id") == poison)
    assert len(on_dlq) == 1, f"exactly one record of {poison} on {dead_letter_topic}: {on_dlq}"
    assert on_dlq[0][1]["data"][POISON_FIELD] is True
    assert not events_on(run, dead_letter_topic, lambda e: e.get("id") in (before, after)), "only the poison is dead"
    for good in (before, after):
        assert [a["status"] for a in attempts(run, good)] == ["SUCCESS"], f"{good} delivered once, nothing lost"
    order = [attempts(run, i)[0]["time"] for i in (before, poison, after)]
    assert order == sorted(order), "the partition's order holds: the event after the poison waits for it"
