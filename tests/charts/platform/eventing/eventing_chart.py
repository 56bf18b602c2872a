"""Helpers of the event backbone tests (tests/charts/platform/eventing): charts/platform as the umbrella installs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from todo_cloud.render import Manifest, render_subchart

CLUSTER = "todo-chatbot-kafka"
REMOTE = ("staging", "production")
# The analytics consumer is on by default (its reference image is built for every environment); the other
# consumers are declared off.
ANALYTICS = "analytics"
CONSUMERS = ("audit", "notification", "realtime-sync", "recurring-task")
ALL_CONSUMERS_ON = {"dapr": {"apps": {c: {"enabled": True} for c in CONSUMERS}}}
NO_CONSUMER = {"dapr": {"apps": {ANALYTICS: {"enabled": False}}}}


def render_platform(env: str | None, overrides: Mapping[str, Any] | None = None) -> list[Manifest]:
    """charts/platform in `env` with `overrides` on top (cached by the harness: one render per input)."""
    return render_subchart("platform", env, overrides)
