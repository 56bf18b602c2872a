"""Topics from the one table in values, and the KafkaUsers with their ACLs."""

from __future__ import annotations

import re

import pytest

from tests.charts.platform.eventing.support import ALL_CONSUMERS_ON, ANALYTICS, CLUSTER, NO_CONSUMER, render_platform
from todo_cloud.paths import DOCS
from todo_cloud.render import Manifest, find, get
from todo_cloud.runtime import kafka_plan

DAY_MS = 86_400_000
# The topic table of the issue: partitions and retention in days.
TABLE = {"todo-events": (6, 7), "chat-events": (6, 7), "user-events": (3, 30), "dlq": (3, 30)}
REPLICATION = {"local": (1, 1), "staging": (3, 2), "production": (3, 2)}


def topics(docs: list[Manifest]) -> dict[str, dict]:
    return {t["spec"]["topicName"]: t["spec"] for t in find(docs, "KafkaTopic")}


def acls(user: dict) -> dict[tuple[str, str], list[str]]:
    return {(a["resource"]["type"], a["resource"]["name"]): a["operations"]
            for a in user["spec"]["authorization"]["acls"]}


def test_partitions_and_retention_come_from_the_table(platform: list[Manifest]) -> None:
    got = {name: (spec["partitions"], spec["config"]["retention.ms"] // DAY_MS)
           for name, spec in topics(platform).items()}
    assert got == TABLE


def test_topic_replicas_follow_the_environment(platform: list[Manifest], env_name: str) -> None:
    for name, spec in topics(platform).items():
        assert (spec["replicas"], spec["config"]["min.insync.replicas"]) == REPLICATION[env_name], name


def test_min_insync_replicas_stay_below_replicas_outside_local(platform: list[Manifest], env_name: str) -> None:
    for name, spec in topics(platform).items():
        if env_name == "local":
            assert spec["config"]["min.insync.replicas"] <= spec["replicas"], name
        else:
            assert spec["config"]["min.insync.replicas"] < spec["replicas"], name


def test_every_topic_belongs_to_the_cluster(platform: list[Manifest]) -> None:
    for topic in find(platform, "KafkaTopic"):
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER


def test_one_table_entry_adds_a_topic() -> None:
    docs = render_platform("production", {"kafka": {"topics": {"reminders": {"partitions": 3, "retention": "12h"}}}})
    spec = get(docs, "KafkaTopic", "reminders")["spec"]
    assert (spec["partitions"], spec["replicas"], spec["config"]["retention.ms"]) == (3, 3, 12 * 3_600_000)


def test_a_topic_may_override_its_replicas_and_config() -> None:
    docs = render_platform("production", {"kafka": {"replication": {"minInsyncReplicas": 1}, "topics": {"dlq": {
        "partitions": 1, "retention": "90d", "replicas": 2, "config": {"cleanup.policy": "compact"}}}}})
    spec = get(docs, "KafkaTopic", "dlq")["spec"]
    assert spec["replicas"] == 2
    assert spec["config"]["cleanup.policy"] == "compact"


def test_pubsub_user_authenticates_with_scram_on_the_tls_listener(platform: list[Manifest]) -> None:
    user = get(platform, "KafkaUser", "dapr-pubsub")
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER


def test_without_consumers_the_pubsub_user_may_only_write_what_the_apps_publish() -> None:
    got = acls(get(render_platform("production", NO_CONSUMER), "KafkaUser", "dapr-pubsub"))
    assert got == {
        ("topic", "todo-events"): ["Describe", "Write"],
        ("topic", "chat-events"): ["Describe", "Write"],
        ("topic", "user-events"): ["Describe", "Write"],
    }


def test_the_analytics_consumer_reads_its_topics_and_writes_and_reads_the_dead_letters(
        platform: list[Manifest]) -> None:
    got = acls(get(platform, "KafkaUser", "dapr-pubsub"))
    assert got == {
        ("topic", "todo-events"): ["Describe", "Read", "Write"],
        ("topic", "chat-events"): ["Describe", "Read", "Write"],
        ("topic", "user-events"): ["Describe", "Write"],
        # Write: its sidecar dead-letters what fails after the retries; Read: it subscribes to the dead letters
        ("topic", "dlq"): ["Describe", "Read", "Write"],
        ("group", ANALYTICS): ["Read"],
    }


def test_consumers_get_read_on_their_topics_and_their_group_and_write_on_dlq(with_consumers: list[Manifest]) -> None:
    got = acls(get(with_consumers, "KafkaUser", "dapr-pubsub"))
    assert got[("topic", "dlq")] == ["Describe", "Read", "Write"]
    assert got[("topic", "todo-events")] == ["Describe", "Read", "Write"]
    assert got[("topic", "user-events")] == ["Describe", "Read", "Write"]
    groups = {name for kind, name in got if kind == "group"}
    assert groups == {ANALYTICS, "audit", "notification", "realtime-sync", "recurring-task"}
    assert all(got[("group", g)] == ["Read"] for g in groups)


@pytest.mark.parametrize("case", ["default", "every consumer", "no consumer", "a dead-letter subscriber only"])
def test_the_pubsub_user_is_allowed_everything_the_rendered_dapr_objects_need(case: str, env_name: str) -> None:
    """Every need of the rendered Subscriptions and pub/sub component (kafka_plan.pubsub_needs, the needs the
    runtime suite probes on a real broker): Read on each subscribed topic and group, Write on each topic of
    the publishing scopes and on each Subscription's dead-letter topic, as Kafka's authorizer decides."""
    overrides = {"default": {}, "every consumer": ALL_CONSUMERS_ON, "no consumer": NO_CONSUMER,
                 "a dead-letter subscriber only": {"dapr": {"apps": {ANALYTICS: {"subscribes": {
                     "todo-events": None, "chat-events": None}}}}}}[case]
    docs = render_platform(env_name, overrides)
    needs = kafka_plan.pubsub_needs(docs)
    user = kafka_plan.plan(docs).user("dapr-pubsub")
    assert [str(n) for n in needs if not user.allows(n.operation, n.resource_type, n.name)] == []
    dead_letters = {s["spec"]["deadLetterTopic"] for s in find(docs, "Subscription") if "deadLetterTopic" in s["spec"]}
    assert {n.name for n in needs if n.operation == "Write" and "deadLetterTopic" in n.source} == dead_letters
    if case == "a dead-letter subscriber only":
        # it reads the dead letters but never dead-letters itself: no Write on dlq is granted
        assert not dead_letters and not user.allows("Write", "topic", "dlq")
        assert user.allows("Read", "topic", "dlq")


def test_no_acl_is_broader_than_one_literal_resource(with_consumers: list[Manifest]) -> None:
    for user in find(with_consumers, "KafkaUser"):
        for acl in user["spec"]["authorization"]["acls"]:
            assert acl["resource"]["patternType"] == "literal"
            assert acl["resource"]["name"] != "*"
            assert "All" not in acl["operations"]


def test_an_extra_client_gets_a_user_limited_to_its_topics_and_group() -> None:
    docs = render_platform("production", {"kafka": {"users": {"analytics": {
        "read": ["todo-events"], "groups": ["analytics"]}}}})
    user = get(docs, "KafkaUser", "analytics")
    assert acls(user) == {("topic", "todo-events"): ["Describe", "Read"], ("group", "analytics"): ["Read"]}


@pytest.mark.parametrize("env", ["staging", "production"])
def test_users_have_no_password_in_values(env: str) -> None:
    for user in find(render_platform(env), "KafkaUser"):
        assert "password" not in user["spec"]["authentication"]


def test_the_topics_table_of_the_docs_matches_the_values() -> None:
    rows = re.findall(r"^\| `([a-z0-9.-]+)` \| (\d+) \| (\d+)d \|", (DOCS / "EVENTING.md").read_text(), re.MULTILINE)
    rendered = topics(render_platform("production"))
    assert {name: (int(p), int(d)) for name, p, d in rows} == {
        name: (spec["partitions"], spec["config"]["retention.ms"] // DAY_MS) for name, spec in rendered.items()}
