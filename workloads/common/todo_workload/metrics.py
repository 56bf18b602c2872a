"""Prometheus metrics of a service: a registry of its own with the process, platform and GC collectors
(process_cpu_seconds_total, process_resident_memory_bytes, ...), served in the text format. The HTTP
request metrics are in `todo_workload.instrumentation` (only the images that count requests carry
prometheus-fastapi-instrumentator)."""

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

del GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR  # the global registry's; each app has its own


def new_registry() -> CollectorRegistry:
    """A registry with the process, platform and garbage-collector metrics of this process."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def expose(app: FastAPI, registry: CollectorRegistry, endpoint: str) -> None:
    """Serve `registry` in the Prometheus text format on `endpoint`."""

    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(endpoint, metrics, methods=["GET"], include_in_schema=False)
