"""ASGI pieces every service uses: the access log (one JSON line per request, probes at debug level), the
trace context passed on to the sidecar, and the uvicorn runner with graceful shutdown on SIGTERM."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from todo_workload.settings import env_int, env_str
from todo_workload.tracing import TRACE_HEADERS, trace_context

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Seconds uvicorn gives in-flight requests after SIGTERM (the chart: Dapr waits 30 s, the pod gets 45 s).
SHUTDOWN_TIMEOUT = 20
log = logging.getLogger("todo_workload")
access = logging.getLogger("todo_workload.access")


class AccessLog:
    """Logs each request (method, path, status, duration) and sets the trace context for sidecar calls."""

    def __init__(self, app: ASGIApp, quiet_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.quiet_paths = quiet_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        token = trace_context.set({h: headers[h] for h in TRACE_HEADERS if h in headers})
        status = 500
        start = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            trace_context.reset(token)
            level = logging.DEBUG if scope["path"] in self.quiet_paths and status < 400 else logging.INFO
            access.log(level, "%s %s %d", scope["method"], scope["path"], status, extra={
                "method": scope["method"], "path": scope["path"], "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 1)})


def _exit_after_shutdown(signum: int, frame: object) -> None:
    """uvicorn re-raises the signal it stopped on after its graceful shutdown: end with exit code 0."""
    del frame
    log.info("stopped", extra={"signal": signal.Signals(signum).name})
    raise SystemExit(0)


def serve(app: ASGIApp, *, default_port: int) -> None:
    """Serve `app` on HOST (default 0.0.0.0) : PORT (default `default_port`) until SIGTERM or SIGINT, then
    stop accepting, let in-flight requests finish (at most SHUTDOWN_TIMEOUT s), run the app's shutdown, exit 0."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_after_shutdown)
    config = uvicorn.Config(app, host=env_str("HOST", "0.0.0.0"), port=env_int("PORT", default_port),
                            log_config=None, access_log=False, server_header=False,
                            timeout_graceful_shutdown=SHUTDOWN_TIMEOUT, lifespan="on")
    uvicorn.Server(config).run()
