"""The frontend stand-in's HTTP API: `/` renders the backend's todos fetched through the sidecar
(/v1.0/invoke/<backend>/method/api/todos); `/api/todos` passes JSON through the same way."""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from todo_workload import metrics
from todo_workload.dapr import DaprError, Sidecar
from todo_workload.web import AccessLog, ASGIApp

log = logging.getLogger("todo_frontend")
PROBES = frozenset({"/api/health", "/api/metrics"})
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Todo chatbot</title></head>
<body><h1>Todos</h1>{body}</body></html>
"""


def render(todos: list[dict[str, Any]]) -> str:
    """The page body: one table row per todo (escaped), or a line saying there are none."""
    if not todos:
        return "<p>No todos yet.</p>"
    rows = "".join(f"<tr><td>{html.escape(str(t.get('title', '')))}</td>"
                   f"<td>{'done' if t.get('completed') else 'open'}</td></tr>" for t in todos)
    return f"<table><tr><th>title</th><th>state</th></tr>{rows}</table>"


def create_app(sidecar: Sidecar, backend_app_id: str) -> ASGIApp:
    """The stand-in, calling app `backend_app_id` through `sidecar`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("started", extra={"backend_app_id": backend_app_id, "dapr_http_port": sidecar.http_port})
        yield
        await sidecar.aclose()

    app = FastAPI(title="todo-chatbot frontend stand-in", lifespan=lifespan)
    # Only process metrics, like the real frontend's prom-client defaults (its nodejs_* series are Node's own).
    metrics.expose(app, metrics.new_registry(), "/api/metrics")

    @app.exception_handler(DaprError)
    async def sidecar_failed(request: Request, exc: DaprError) -> JSONResponse:
        log.error("sidecar call failed", extra={"path": request.url.path, "error": str(exc)})
        return JSONResponse({"detail": str(exc)}, status_code=502)

    @app.get("/api/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        """The todos as the backend lists them, fetched through service invocation."""
        resp = await sidecar.invoke(backend_app_id, "api/todos")
        if resp.status_code != 200:
            log.error("backend answered %d", resp.status_code, extra={"status": resp.status_code})
            body = f"<p>The backend answered {resp.status_code}.</p>"
            return HTMLResponse(PAGE.format(body=body), status_code=502)
        return HTMLResponse(PAGE.format(body=render(resp.json())))

    @app.get("/api/todos")
    async def list_todos() -> Response:
        return passthrough(await sidecar.invoke(backend_app_id, "api/todos"))

    @app.post("/api/todos")
    async def create_todo(request: Request) -> Response:
        return passthrough(await sidecar.invoke(backend_app_id, "api/todos", http_method="POST",
                                                json=await request.json()))

    return AccessLog(app, quiet_paths=PROBES)


def passthrough(resp: Any) -> Response:
    """The backend's answer as it came (status, body, content type)."""
    return Response(resp.content, status_code=resp.status_code,
                    media_type=resp.headers.get("content-type", "application/json"))
