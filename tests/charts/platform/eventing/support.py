"""Helpers of the event backbone tests (tests/charts/platform/eventing): charts/platform as the umbrella installs
it, and the CRD schemas of the pinned Strimzi and Dapr charts to validate our custom resources.

The schemas and the check are the validate gate's (todo_cloud.gates.kubeschema, the CRDs read by
todo_cloud.crds): unknown fields are errors, as the API server would prune them silently. Here the schemas
are narrowed to those of the Strimzi and Dapr charts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from todo_cloud import versions
from todo_cloud.gates import kubeschema
from todo_cloud.render import Manifest, render_subchart

CLUSTER = "todo-chatbot-kafka"
REMOTE = ("staging", "production")
# The analytics consumer is on by default (its reference image is built for every environment); the other
# consumers are declared off.
ANALYTICS = "analytics"
CONSUMERS = ("audit", "notification", "realtime-sync", "recurring-task")
ALL_CONSUMERS_ON = {"dapr": {"apps": {c: {"enabled": True} for c in CONSUMERS}}}
NO_CONSUMER = {"dapr": {"apps": {ANALYTICS: {"enabled": False}}}}
CHARTS_WITH_CRDS = ("strimzi-kafka-operator", "dapr")
# The kinds of the event backbone's objects in charts/platform.
EVENTING_KINDS = ("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Component")


def render_platform(env: str | None, overrides: Mapping[str, Any] | None = None) -> list[Manifest]:
    """charts/platform in `env` with `overrides` on top (cached by the harness: one render per input)."""
    return render_subchart("platform", env, overrides)


def crd_schemas() -> dict[str, dict]:
    """`group/version/Kind` -> JSON schema, for every served version of the Strimzi and Dapr charts' CRDs."""
    archives = {c.archive for c in versions.upstream_charts() if c.name in CHARTS_WITH_CRDS}
    return {key: entry["schema"] for key, entry in kubeschema.chart_crd_schemas().items()
            if entry["source"] in archives}


def crd_errors(doc: dict) -> list[str]:
    """The validate gate's findings on one custom resource (`rule: message`); an unknown kind is one."""
    return [f"{f.rule}: {f.message}" for f in kubeschema.validate_object(doc, "")]
