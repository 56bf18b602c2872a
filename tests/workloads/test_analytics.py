"""The analytics consumer, a real process, receiving deliveries as Dapr's HTTP pub/sub makes them (POST of
the CloudEvent to the subscription's route, answer HTTP 200 with SUCCESS, RETRY or DROP).

Routes come from charts/platform/values.yaml (every subscription's route), the poison marker from the
consumer's own module and must be what workloads/README.md documents. The runtime suite drives the same
service through daprd, Kafka and the Resiliency policy.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.workloads.support import SERVICES, WORKLOADS, Service, load_module
from todo_cloud import yamlfile
from todo_cloud.paths import CHARTS

LEDGER = load_module(SERVICES["analytics"].path / "todo_analytics" / "ledger.py", "analytics_ledger")
POISON = LEDGER.POISON_FIELD
PLATFORM = yamlfile.load(CHARTS / "platform" / "values.yaml")
DEAD_LETTER_TOPIC = PLATFORM["dapr"]["pubsub"]["deadLetterTopic"]
ROUTES = {topic: route for app in PLATFORM["dapr"]["apps"].values()
          for topic, route in (app.get("subscribes") or {}).items()}
# Topics whose deliveries are events (the dead-letter topic's are dead letters, tested on their own).
EVENT_TOPICS = sorted(set(ROUTES) - {DEAD_LETTER_TOPIC})


def cloudevent(event_type: str, data: dict[str, Any], topic: str = "todo-events",
               event_id: str | None = None) -> dict[str, Any]:
    """A CloudEvent as daprd delivers it (the publisher's envelope plus topic and pubsubname)."""
    return {"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": "backend", "type": event_type,
            "datacontenttype": "application/json", "data": data, "topic": topic,
            "pubsubname": PLATFORM["dapr"]["pubsub"]["name"],
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


def deliver(analytics: Service, topic: str, body: Any) -> tuple[int, dict[str, Any]]:
    with analytics.client() as client:
        kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
        resp = client.post(f"/events/{topic}", headers={"content-type": "application/cloudevents+json"}, **kwargs)
    return resp.status_code, resp.json()


def counts(analytics: Service) -> dict[str, Any]:
    with analytics.client() as client:
        return client.get("/counts").json()


def attempts(analytics: Service, event_id: str) -> list[dict[str, Any]]:
    with analytics.client() as client:
        return client.get("/attempts", params={"id": event_id}).json()["attempts"]


def test_every_subscription_route_of_the_platform_is_events_slash_topic() -> None:
    assert ROUTES, "no subscription in the platform values"
    assert {route for route in ROUTES.values()} == {f"/events/{topic}" for topic in ROUTES}


def test_the_analytics_app_subscribes_to_the_dead_letter_topic_on_its_route() -> None:
    assert PLATFORM["dapr"]["apps"]["analytics"]["subscribes"][DEAD_LETTER_TOPIC] == f"/events/{DEAD_LETTER_TOPIC}"


@pytest.mark.parametrize("topic", EVENT_TOPICS)
def test_an_event_on_each_subscribed_topic_is_answered_success_and_counted(analytics: Service, topic: str) -> None:
    before = counts(analytics)
    status, answer = deliver(analytics, topic, cloudevent("TaskCreated", {"id": "t1"}, topic))
    assert (status, answer) == (200, {"status": "SUCCESS"})
    after = counts(analytics)
    assert after["by_type"]["TaskCreated"] == before["by_type"].get("TaskCreated", 0) + 1
    assert after["by_topic"][topic] == before["by_topic"].get(topic, 0) + 1


def test_events_are_counted_per_type(analytics: Service) -> None:
    before = counts(analytics)["by_type"]
    for event_type in ("TaskUpdated", "TaskUpdated", "TaskDeleted", "MessageSent"):
        deliver(analytics, "todo-events", cloudevent(event_type, {"id": "t2"}))
    after = counts(analytics)["by_type"]
    delta = {t: after.get(t, 0) - before.get(t, 0) for t in ("TaskUpdated", "TaskDeleted", "MessageSent")}
    assert delta == {"TaskUpdated": 2, "TaskDeleted": 1, "MessageSent": 1}


def test_a_redelivered_event_is_answered_success_and_counted_once(analytics: Service) -> None:
    event = cloudevent("TaskCompleted", {"id": "t3"})
    before = counts(analytics)
    assert [deliver(analytics, "todo-events", event)[1]["status"] for _ in range(3)] == ["SUCCESS"] * 3
    after = counts(analytics)
    assert after["by_type"]["TaskCompleted"] - before["by_type"].get("TaskCompleted", 0) == 1
    assert after["redelivered"] - before["redelivered"] == 2


def test_a_poison_event_is_answered_retry_on_every_attempt_and_each_attempt_is_recorded(analytics: Service) -> None:
    event = cloudevent("TaskCreated", {"id": "t4", POISON: True})
    before = counts(analytics)
    answers = [deliver(analytics, "todo-events", event) for _ in range(3)]
    assert answers == [(200, {"status": "RETRY"})] * 3
    recorded = attempts(analytics, event["id"])
    assert [(a["id"], a["type"], a["topic"], a["status"]) for a in recorded] == [
        (event["id"], "TaskCreated", "todo-events", "RETRY")] * 3
    times = [a["time"] for a in recorded]
    assert times == sorted(times) and len(set(times)) == 3
    assert counts(analytics)["by_type"] == before["by_type"]


@pytest.mark.parametrize("marker", [False, "true", 1], ids=["false", "string", "number"])
def test_only_the_boolean_true_marks_an_event_as_poison(analytics: Service, marker: Any) -> None:
    assert deliver(analytics, "todo-events", cloudevent("TaskCreated", {POISON: marker}))[1] == {"status": "SUCCESS"}


def test_a_dead_letter_is_accepted_and_counted_once_even_when_poison(analytics: Service) -> None:
    event = cloudevent("TaskCreated", {"id": "t5", POISON: True}, topic=DEAD_LETTER_TOPIC)
    before = counts(analytics)["dead_letters"].get("TaskCreated", 0)
    assert [deliver(analytics, DEAD_LETTER_TOPIC, event)[1] for _ in range(2)] == [{"status": "SUCCESS"}] * 2
    assert counts(analytics)["dead_letters"]["TaskCreated"] == before + 1
    assert [a["status"] for a in attempts(analytics, event["id"])] == ["SUCCESS", "SUCCESS"]


@pytest.mark.parametrize("body", [b"not json", [], {"type": "TaskCreated"}, {"id": "x"}],
                         ids=["not-json", "not-an-object", "no-id", "no-type"])
def test_what_is_not_a_cloudevent_is_dropped(analytics: Service, body: Any) -> None:
    before = counts(analytics)["dropped"]
    assert deliver(analytics, "todo-events", body) == (200, {"status": "DROP"})
    assert counts(analytics)["dropped"] == before + 1


def test_the_consumer_declares_no_programmatic_subscriptions(analytics: Service) -> None:
    with analytics.client() as client:
        assert client.get("/dapr/subscribe").json() == []


def test_the_poison_marker_is_the_one_the_contract_documents() -> None:
    assert f'"{POISON}": true' in (WORKLOADS / "README.md").read_text()
