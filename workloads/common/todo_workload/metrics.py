"""Prometheus metrics of a service: a registry of its own with the process, platform and GC collectors
(process_cpu_seconds_total, process_resident_memory_bytes, ...), and the HTTP metrics of
prometheus-fastapi-instrumentator, the chatbot's backend library: http_requests_total (handler, method,
status grouped as 2xx/4xx/5xx) and http_request_duration_seconds (handler, method; buckets 0.1, 0.5, 1),
handler being the route template (`/api/todos/{todo_id}`), never the raw path."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_fastapi_instrumentator import Instrumentator

del GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR  # the global registry's; each app has its own


def new_registry() -> CollectorRegistry:
    """A registry with the process, platform and garbage-collector metrics of this process."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def instrument(app: FastAPI, registry: CollectorRegistry, endpoint: str) -> None:
    """Count and time every request of `app` and serve the registry on `endpoint`."""
    Instrumentator(registry=registry).instrument(app)
    expose(app, registry, endpoint)


def expose(app: FastAPI, registry: CollectorRegistry, endpoint: str) -> None:
    """Serve `registry` in the Prometheus text format on `endpoint`."""

    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(endpoint, metrics, methods=["GET"], include_in_schema=False)
