"""The W3C trace context of the request being served (set by the access log, read by the sidecar client), so
that the sidecar's spans join the caller's trace. Standard library only: every image has it."""

from __future__ import annotations

import contextvars

# W3C trace context headers passed on to the sidecar.
TRACE_HEADERS = ("traceparent", "tracestate")
# The trace context headers of the request being served.
trace_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("trace_context", default=None)
