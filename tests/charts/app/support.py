"""Helpers of the app chart tests (tests/charts/app): render charts/app as the umbrella installs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from todo_cloud.render import Manifest, get, render_subchart

# Components on by default, and the event consumers declared off.
DEFAULT_COMPONENTS = ("analytics", "backend", "frontend")
CONSUMERS = ("audit", "notification", "realtime-sync", "recurring-task")
RELEASE = "todo-chatbot"


def render_app(env: str | None, overrides: Mapping[str, Any] | None = None) -> list[Manifest]:
    """charts/app as the umbrella installs it in `env`, with `overrides` on top of its values."""
    return render_subchart("app", env, overrides)


def name(component: str) -> str:
    """Name of a component's objects."""
    return f"{RELEASE}-{component}"


def pod_spec(docs: list[Manifest], component: str) -> dict:
    """The pod spec of a component's Deployment."""
    return get(docs, "Deployment", name(component))["spec"]["template"]["spec"]


def containers_by_name(spec: dict) -> dict[str, dict]:
    """Containers of a pod spec by name."""
    return {c["name"]: c for c in spec["containers"]}
