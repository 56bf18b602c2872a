"""Topic settings are judged at render time against the catalogue the pinned Kafka documents
(charts/platform/kafka/topic-configs.yaml, generated from the broker's jars): the chart's guard refuses
exactly what the validate gate (todo_cloud.gates.refusals.topic_config_problem) refuses, and that one
judges as the broker does (tests/runtime/test_kafka_bad_input.py). The cases are derived from the
catalogue itself: for every configuration a value it allows and one it does not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.platform.eventing.support import render_platform
from todo_cloud.gates.refusals import topic_catalogue, topic_config_problem
from todo_cloud.render import RenderError
from todo_cloud.runtime import kafka_jars

CONFIGS: dict[str, dict[str, Any]] = topic_catalogue()["configs"]
# Set by the chart from other keys (kafka.topics.<name>.retention, kafka.replication.minInsyncReplicas).
OWNED = {"retention.ms", "min.insync.replicas"}


def allowed(spec: dict[str, Any]) -> Any:
    """A value the catalogue allows for a configuration of `spec`."""
    if spec.get("oneOf"):
        return spec["oneOf"][0]
    if spec["type"] == "boolean":
        return True
    if spec["type"] in ("int", "short", "long", "double"):
        return spec.get("min", spec.get("max", 1))
    return ""


def refused(spec: dict[str, Any]) -> Any:
    """A value the catalogue refuses for `spec` (None where it checks nothing but a free-form type)."""
    if spec["type"] in ("int", "short", "long", "double"):
        if "min" in spec:
            return spec["min"] - 1
        if "max" in spec:
            return spec["max"] + 1
        return "many"
    if spec["type"] == "boolean":
        return "maybe"
    if spec.get("oneOf"):
        return "not-a-kafka-value"
    return None


GOOD = {name: allowed(spec) for name, spec in CONFIGS.items() if name not in OWNED}
BAD = {name: value for name, spec in CONFIGS.items() if name not in OWNED and (value := refused(spec)) is not None}


def topic(config: dict[str, Any]) -> dict[str, Any]:
    return {"kafka": {"topics": {"reminders": {"partitions": 3, "retention": "7d", "config": config}}}}


def test_the_catalogue_is_kafkas_own_list() -> None:
    assert topic_catalogue()["version"] == kafka_jars.platform_version()
    assert {"cleanup.policy", "segment.bytes", "min.insync.replicas", "compression.type"} <= set(CONFIGS)
    assert len(CONFIGS) >= 30


def test_every_value_the_catalogue_allows_renders() -> None:
    assert all(topic_config_problem(name, value) is None for name, value in GOOD.items())
    docs = render_platform("production", topic(GOOD))
    rendered = next(d for d in docs if d["kind"] == "KafkaTopic" and d["metadata"]["name"] == "reminders")
    assert set(GOOD) <= set(rendered["spec"]["config"])


@pytest.mark.parametrize(("name", "value"), sorted(BAD.items()), ids=sorted(BAD))
def test_a_value_kafka_refuses_fails_the_render_naming_the_key(name: str, value: Any) -> None:
    assert topic_config_problem(name, value) is not None
    with pytest.raises(RenderError) as error:
        render_platform("production", topic({name: value}))
    assert f"kafka.topics.reminders.config.{name}:" in error.value.stderr


def test_an_unknown_setting_fails_the_render_naming_the_key() -> None:
    with pytest.raises(RenderError) as error:
        render_platform("production", topic({"retention.hours": 12}))
    assert 'kafka.topics.reminders.config.retention.hours: "retention.hours" is not a topic configuration' \
        in error.value.stderr
