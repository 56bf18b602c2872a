"""The backend's HTTP API (FastAPI). Routes, status codes and events: workloads/README.md."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import psycopg
from fastapi import FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field, model_validator

from todo_backend import events
from todo_backend.config import Settings
from todo_backend.store import Publish, Row, Store
from todo_workload import instrumentation, metrics
from todo_workload.dapr import DaprError, Sidecar
from todo_workload.web import AccessLog, ASGIApp

log = logging.getLogger("todo_backend")
USER_ID = r"^[A-Za-z0-9_.@-]{1,128}$"
# Seconds /ready waits for PostgreSQL (the chart's probes time out after 2 s).
READY_TIMEOUT = 1.5
PROBES = frozenset({"/health", "/ready", "/metrics"})
TodoId = Annotated[uuid.UUID, Path(description="id of the todo")]
UserId = Annotated[str, Path(pattern=USER_ID)]


class TodoCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=5000)
    user_id: str = Field(default="anonymous", pattern=USER_ID)


class TodoUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=5000)
    completed: bool | None = None

    @model_validator(mode="after")
    def one_change_at_least(self) -> TodoUpdate:
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one of title, description, completed")
        return self


class ChatMessage(BaseModel):
    user_id: str = Field(pattern=USER_ID)
    content: str = Field(min_length=1, max_length=4000)
    conversation_id: str | None = Field(default=None, pattern=USER_ID)


def create_app(settings: Settings, sidecar: Sidecar) -> ASGIApp:
    """The backend app on `settings`' database, talking to `sidecar`."""
    store = Store(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        log.info("started", extra={"app_id": settings.app_id, "dapr_http_port": sidecar.http_port,
                                   "dapr_api_token": sidecar.token is not None})
        yield
        log.info("shutting down: closing the database pool and the sidecar client")
        await store.close()
        await sidecar.aclose()

    app = FastAPI(title="todo-chatbot reference backend", lifespan=lifespan)
    instrumentation.instrument(app, metrics.new_registry(), "/metrics")

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable", extra={"path": request.url.path, "error": str(exc).strip()})
        return JSONResponse({"detail": "database unavailable"}, status_code=503)

    @app.exception_handler(DaprError)
    async def sidecar_failed(request: Request, exc: DaprError) -> JSONResponse:
        log.error("sidecar call failed", extra={"path": request.url.path, "error": str(exc)})
        return JSONResponse({"detail": str(exc)}, status_code=502)

    def publisher(event_type: str, topic: str, key_field: str) -> Publish:
        """Publishes a row as a CloudEvent of `event_type` on `topic`, keyed by the row's `key_field`."""
        async def publish(row: Row) -> None:
            key = str(row[key_field])
            event = events.cloudevent(event_type, source=settings.app_id, subject=key, partition_key=key, data=row)
            await sidecar.publish(settings.pubsub, topic, event, partition_key=key)
            log.info("published", extra={"type": event_type, "topic": topic, "event_id": event["id"],
                                         "partition_key": key})
        return publish

    # -- probes --

    @app.get("/health")
    async def health() -> dict[str, str]:
        """The process serves requests."""
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        """PostgreSQL answers (and the schema is in place)."""
        try:
            await store.ping(READY_TIMEOUT)
        except Exception as exc:  # any failure means not ready; the reason is reported
            return JSONResponse({"status": "unavailable", "reason": f"database: {type(exc).__name__}"},
                                status_code=503)
        return JSONResponse({"status": "ready"})

    # -- todos --

    @app.get("/api/todos")
    async def list_todos(user_id: Annotated[str | None, Query(pattern=USER_ID)] = None) -> list[Row]:
        return await store.list_todos(user_id)

    @app.post("/api/todos", status_code=201)
    async def create_todo(todo: TodoCreate) -> Row:
        return await store.create_todo(todo.user_id, todo.title, todo.description,
                                       publisher(events.TASK_CREATED, settings.todo_topic, "id"))

    @app.get("/api/todos/{todo_id}")
    async def get_todo(todo_id: TodoId) -> Any:
        return await store.get_todo(todo_id) or JSONResponse({"detail": "todo not found"}, status_code=404)

    @app.patch("/api/todos/{todo_id}")
    async def update_todo(todo_id: TodoId, update: TodoUpdate) -> Any:
        changed = await store.update_todo(todo_id, update.model_dump(exclude_none=True),
                                          publisher(events.TASK_UPDATED, settings.todo_topic, "id"))
        return changed or JSONResponse({"detail": "todo not found"}, status_code=404)

    @app.delete("/api/todos/{todo_id}", status_code=204)
    async def delete_todo(todo_id: TodoId) -> Response:
        deleted = await store.delete_todo(todo_id, publisher(events.TASK_DELETED, settings.todo_topic, "id"))
        if deleted is None:
            return JSONResponse({"detail": "todo not found"}, status_code=404)
        return Response(status_code=204)

    # -- chat --

    @app.post("/api/chat", status_code=202)
    async def send_message(message: ChatMessage) -> Row:
        conversation = message.conversation_id or message.user_id
        return await store.add_message(conversation, message.user_id, message.content,
                                       publisher(events.MESSAGE_SENT, settings.chat_topic, "conversation_id"))

    # -- preferences (Dapr state store) --

    @app.get("/api/users/{user_id}/preferences")
    async def get_preferences(user_id: UserId) -> Any:
        value = await sidecar.get_state(settings.statestore, f"preferences-{user_id}")
        return value if value is not None else JSONResponse({"detail": "no preferences saved"}, status_code=404)

    @app.put("/api/users/{user_id}/preferences")
    async def put_preferences(user_id: UserId, preferences: dict[str, Any]) -> dict[str, Any]:
        await sidecar.save_state(settings.statestore, f"preferences-{user_id}", preferences)
        return preferences

    return AccessLog(app, quiet_paths=PROBES)
