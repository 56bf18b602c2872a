"""HTTP request metrics of prometheus-fastapi-instrumentator, the chatbot backend's library, with its
defaults: http_requests_total (handler, method, status grouped as 2xx/4xx/5xx) and
http_request_duration_seconds (handler, method; buckets 0.1, 0.5, 1), `handler` being the route template
(`/api/todos/{todo_id}`), never the raw path."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

from todo_workload.metrics import expose


def instrument(app: FastAPI, registry: CollectorRegistry, endpoint: str) -> None:
    """Count and time every request of `app` and serve `registry` on `endpoint`."""
    Instrumentator(registry=registry).instrument(app)
    expose(app, registry, endpoint)
