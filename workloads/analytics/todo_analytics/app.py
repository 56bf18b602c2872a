"""The analytics consumer's HTTP API: Dapr delivers events to /events/<topic> (the routes the platform's
declarative Subscriptions render); counts and delivery attempts are readable over HTTP."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from prometheus_client import Counter

from todo_analytics.ledger import DROP, RETRY, Ledger
from todo_workload import instrumentation, metrics
from todo_workload.settings import env_str
from todo_workload.web import AccessLog, ASGIApp

log = logging.getLogger("todo_analytics")
PROBES = frozenset({"/health", "/ready", "/metrics"})


def create_app() -> ASGIApp:
    """The consumer; DEAD_LETTER_TOPIC (default dlq) names the topic whose deliveries are dead letters."""
    ledger = Ledger(dead_letter_topic=env_str("DEAD_LETTER_TOPIC", "dlq"))
    registry = metrics.new_registry()
    deliveries = Counter("analytics_deliveries_total", "Event deliveries by topic and the answer given to Dapr.",
                         ["topic", "status"], registry=registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("started", extra={"dead_letter_topic": ledger.dead_letter_topic})
        yield
        log.info("shutting down", extra=ledger.counts())

    app = FastAPI(title="todo-chatbot reference analytics consumer", lifespan=lifespan)
    instrumentation.instrument(app, registry, "/metrics")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/dapr/subscribe")
    async def programmatic_subscriptions() -> list[Any]:
        """None: the subscriptions are declarative (Subscription objects rendered by the platform chart)."""
        return []

    @app.post("/events/{topic}")
    async def deliver(topic: str, request: Request) -> dict[str, str]:
        """One delivery from Dapr. HTTP 200 with SUCCESS, RETRY (the poison marker: Dapr retries per the
        Resiliency policy, then dead-letters) or DROP (not a CloudEvent: retrying cannot help)."""
        try:
            event: Any = json.loads(await request.body())
        except ValueError:
            event = None
        status = ledger.deliver(topic, event)
        deliveries.labels(topic, status).inc()
        envelope = event if isinstance(event, dict) else {}
        fields = {"topic": topic, "status": status, "event_id": envelope.get("id"), "type": envelope.get("type")}
        log.log(logging.WARNING if status in (RETRY, DROP) else logging.INFO, "delivery", extra=fields)
        return {"status": status}

    @app.get("/counts")
    async def counts() -> dict[str, Any]:
        """Events processed per type and topic (each CloudEvent id once), dead letters per type, redeliveries
        of an already processed id, deliveries dropped."""
        return ledger.counts()

    @app.get("/attempts")
    async def attempts(event_id: Annotated[str | None, Query(alias="id")] = None,
                       topic: str | None = None) -> dict[str, Any]:
        """Every delivery attempt (oldest first), optionally of one CloudEvent id or topic."""
        return {"attempts": [a for a in ledger.attempts
                             if (event_id is None or a["id"] == event_id) and (topic is None or a["topic"] == topic)]}

    return AccessLog(app, quiet_paths=PROBES)
