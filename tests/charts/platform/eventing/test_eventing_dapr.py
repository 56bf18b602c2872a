"""Dapr building blocks: scoped components, secrets by reference, configuration, resiliency, subscriptions."""

from __future__ import annotations

import re

import pytest

from tests.charts.platform.eventing.support import ANALYTICS, CONSUMERS, NO_CONSUMER, render_platform
from todo_cloud.render import Manifest, find, get

APPS = {"frontend", "backend", ANALYTICS, *CONSUMERS}
CREDENTIAL = re.compile(r"(?i)password|secret|token|connectionstring|clientkey|apikey")
SAMPLING = {"local": "1", "staging": "0.1", "production": "0.1"}


def metadata(component: dict) -> dict[str, dict]:
    return {m["name"]: m for m in component["spec"]["metadata"]}


def test_every_component_is_scoped_to_known_app_ids(with_consumers: list[Manifest]) -> None:
    for component in find(with_consumers, "Component"):
        assert component.get("scopes"), component["metadata"]["name"]
        assert set(component["scopes"]) <= APPS, component["metadata"]["name"]


def test_pubsub_is_scoped_to_the_enabled_apps_that_use_it(platform: list[Manifest]) -> None:
    assert get(platform, "Component", "pubsub")["scopes"] == [ANALYTICS, "backend"]


def test_pubsub_scope_grows_with_the_enabled_consumers(with_consumers: list[Manifest]) -> None:
    assert set(get(with_consumers, "Component", "pubsub")["scopes"]) == {"backend", ANALYTICS, *CONSUMERS}


def test_secrets_are_only_referenced(with_consumers: list[Manifest]) -> None:
    for component in find(with_consumers, "Component"):
        for entry in component["spec"]["metadata"]:
            if CREDENTIAL.search(entry["name"]):
                assert "value" not in entry and entry["secretKeyRef"]["name"], entry


def test_pubsub_connects_to_the_bootstrap_service_with_the_users_secret(platform: list[Manifest]) -> None:
    pubsub = get(platform, "Component", "pubsub")
    assert pubsub["spec"]["type"] == "pubsub.kafka"
    meta = metadata(pubsub)
    assert meta["brokers"]["value"] == "todo-chatbot-kafka-kafka-bootstrap:9093"
    assert meta["authType"]["value"] == "password"
    assert meta["saslMechanism"]["value"] == "SHA-512"
    assert meta["saslUsername"]["value"] == "dapr-pubsub"
    assert meta["saslPassword"]["secretKeyRef"] == {"name": "dapr-pubsub", "key": "password"}
    assert meta["caCert"]["secretKeyRef"] == {"name": "todo-chatbot-kafka-cluster-ca-cert", "key": "ca.crt"}
    assert "disableTls" not in meta


def test_pubsub_user_is_the_kafka_user_of_the_chart(platform: list[Manifest]) -> None:
    username = metadata(get(platform, "Component", "pubsub"))["saslUsername"]["value"]
    assert get(platform, "KafkaUser", username)


def test_every_topic_is_protected_and_granted_per_app(with_consumers: list[Manifest]) -> None:
    meta = metadata(get(with_consumers, "Component", "pubsub"))
    topics = {t["spec"]["topicName"] for t in find(with_consumers, "KafkaTopic")}
    assert set(meta["protectedTopics"]["value"].split(",")) == topics
    assert set(meta["allowedTopics"]["value"].split(",")) == topics
    publishing = dict(e.split("=") for e in meta["publishingScopes"]["value"].split(";"))
    assert publishing["backend"] == "chat-events,todo-events,user-events"
    assert publishing["audit"] == publishing[ANALYTICS] == "dlq"  # their sidecars publish the dead letters
    subscription = dict(e.split("=") for e in meta["subscriptionScopes"]["value"].split(";"))
    assert subscription["audit"] == "chat-events,todo-events,user-events"
    assert subscription[ANALYTICS] == "chat-events,dlq,todo-events"
    assert "backend" not in subscription


def test_statestore_is_postgresql_v2_with_the_connection_string_from_a_secret(platform: list[Manifest]) -> None:
    store = get(platform, "Component", "statestore")
    assert (store["spec"]["type"], store["spec"]["version"]) == ("state.postgresql", "v2")
    assert metadata(store)["connectionString"]["secretKeyRef"]["name"]
    assert store["scopes"] == ["backend"]


def test_statestore_can_be_redis() -> None:
    store = get(render_platform("production", {"dapr": {"statestore": {"type": "redis"}}}), "Component", "statestore")
    assert store["spec"]["type"] == "state.redis"
    meta = metadata(store)
    assert meta["redisPassword"]["secretKeyRef"] == {"name": "todo-chatbot-dapr-redis", "key": "password"}
    assert meta["enableTLS"]["value"] == "true"


def test_no_secret_store_by_default(platform: list[Manifest]) -> None:
    # the apps read their Secrets as mounted files; component secretKeyRefs are resolved by the Dapr operator
    assert not [c for c in find(platform, "Component") if c["spec"]["type"].startswith("secretstores.")]


def test_an_opted_in_secret_store_reads_kubernetes_secrets_for_its_scoped_apps_only() -> None:
    docs = render_platform("production", {"dapr": {"secretstore": {"enabled": True, "scopes": ["backend"]}}})
    store = get(docs, "Component", "secretstore")
    assert store["spec"]["type"] == "secretstores.kubernetes"
    assert store["scopes"] == ["backend"]


def test_configuration_traces_to_the_jaeger_collector_over_otlp(platform: list[Manifest], env_name: str) -> None:
    tracing = get(platform, "Configuration", "todo-chatbot-dapr-config")["spec"]["tracing"]
    assert tracing["otel"] == {"endpointAddress": "todo-chatbot-jaeger:4317", "protocol": "grpc", "isSecure": False}
    assert tracing["samplingRate"] == SAMPLING[env_name]


def test_configuration_turns_on_metrics_and_mtls(platform: list[Manifest]) -> None:
    spec = get(platform, "Configuration", "todo-chatbot-dapr-config")["spec"]
    assert spec["metric"]["enabled"] is True
    assert spec["mtls"]["enabled"] is True
    assert spec["mtls"]["sentryAddress"] == "dapr-sentry.todo-chatbot.svc.cluster.local:443"


def test_resiliency_bounds_retries_and_sets_timeouts_and_breakers(platform: list[Manifest]) -> None:
    spec = get(platform, "Resiliency", "todo-chatbot-resiliency")["spec"]
    for name, retry in spec["policies"]["retries"].items():
        assert 0 < retry["maxRetries"] <= 10, name
    assert spec["policies"]["retries"]["pubsub"]["policy"] == "exponential"
    assert set(spec["policies"]["timeouts"]) == {"pubsub", "invoke"}
    for breaker in spec["policies"]["circuitBreakers"].values():
        assert breaker["trip"].startswith("consecutiveFailures > ")
    pubsub = spec["targets"]["components"]["pubsub"]
    policies = {"timeout": "pubsub", "retry": "pubsub", "circuitBreaker": "pubsub"}
    assert pubsub["inbound"] == pubsub["outbound"] == policies
    assert spec["targets"]["apps"]["backend"] == {"timeout": "invoke", "retry": "invoke", "circuitBreaker": "invoke"}


def test_resiliency_applies_to_every_enabled_app(with_consumers: list[Manifest]) -> None:
    assert set(get(with_consumers, "Resiliency", "todo-chatbot-resiliency")["scopes"]) == APPS


def test_no_subscription_while_no_consumer_runs() -> None:
    assert find(render_platform("production", NO_CONSUMER), "Subscription") == []


def test_by_default_only_the_analytics_consumer_subscribes(platform: list[Manifest]) -> None:
    assert {(s["scopes"][0], s["spec"]["topic"]) for s in find(platform, "Subscription")} == {
        (ANALYTICS, "todo-events"), (ANALYTICS, "chat-events"), (ANALYTICS, "dlq")}


def test_one_subscription_per_consumer_and_topic_each_with_the_dlq(with_consumers: list[Manifest]) -> None:
    subs = {(s["scopes"][0], s["spec"]["topic"]): s for s in find(with_consumers, "Subscription")}
    assert set(subs) == {
        ("notification", "todo-events"), ("recurring-task", "todo-events"), ("realtime-sync", "todo-events"),
        ("audit", "todo-events"), ("audit", "chat-events"), ("audit", "user-events"),
        (ANALYTICS, "todo-events"), (ANALYTICS, "chat-events"), (ANALYTICS, "dlq"),
    }
    for (app, topic), sub in subs.items():
        assert sub["apiVersion"] == "dapr.io/v2alpha1"
        assert sub["scopes"] == [app]
        assert sub["spec"]["pubsubname"] == "pubsub"
        # a dead letter that fails is not dead-lettered again
        assert sub["spec"].get("deadLetterTopic") == (None if topic == "dlq" else "dlq")
        assert sub["spec"]["routes"]["default"] == f"/events/{topic}"


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_a_consumer_alone_gets_only_its_subscriptions(consumer: str) -> None:
    docs = render_platform("production", {"dapr": {"apps": {consumer: {"enabled": True},
                                                            ANALYTICS: {"enabled": False}}}})
    assert {s["scopes"][0] for s in find(docs, "Subscription")} == {consumer}
