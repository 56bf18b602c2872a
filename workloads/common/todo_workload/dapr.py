"""The Dapr sidecar's HTTP API (v1.0) over httpx: publish, state, service invocation.

The sidecar listens on 127.0.0.1:DAPR_HTTP_PORT (set by the sidecar injector; 3500 by default). When the
sidecar requires an API token, the chart mounts it and names the file in DAPR_API_TOKEN_FILE; every call then
carries it in the `dapr-api-token` header. The W3C trace context of the request being served (see
`todo_workload.tracing`) is passed on, so that the sidecar's spans join the caller's trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from todo_workload.settings import env_int, secret_file
from todo_workload.tracing import trace_context

API_TOKEN_HEADER = "dapr-api-token"
CLOUDEVENT_CONTENT_TYPE = "application/cloudevents+json"


class DaprError(RuntimeError):
    """The sidecar refused a call or could not be reached; the message says which call and why."""

    def __init__(self, what: str, detail: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(f"{what}: {detail}")


@dataclass
class Sidecar:
    """The app's Dapr sidecar."""

    http_port: int
    token: str | None = None
    timeout: float = 5.0
    _client: httpx.AsyncClient | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Sidecar:
        """DAPR_HTTP_PORT (default 3500) and the token of DAPR_API_TOKEN_FILE (none when unset)."""
        return cls(env_int("DAPR_HTTP_PORT", 3500), secret_file("DAPR_API_TOKEN", required=False))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {API_TOKEN_HEADER: self.token} if self.token else {}
            self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _call(self, what: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**(trace_context.get() or {}), **kwargs.pop("headers", {})}
        try:
            return await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise DaprError(what, f"sidecar at {self.base_url} not reachable ({type(exc).__name__}: {exc})") from None

    @staticmethod
    def _check(what: str, resp: httpx.Response) -> None:
        if resp.status_code >= 300:
            raise DaprError(what, f"sidecar answered {resp.status_code}: {resp.text.strip()[:300]}", resp.status_code)

    async def publish(self, pubsub: str, topic: str, event: dict[str, Any], partition_key: str) -> None:
        """Publish `event` (a whole CloudEvent) to `topic`, keyed by `partition_key` (the Kafka message key)."""
        what = f"publish {event.get('type')} to {pubsub}/{topic}"
        resp = await self._call(what, "POST", f"/v1.0/publish/{quote(pubsub)}/{quote(topic)}", json=event,
                                params={"metadata.partitionKey": partition_key},
                                headers={"content-type": CLOUDEVENT_CONTENT_TYPE})
        self._check(what, resp)

    async def get_state(self, store: str, key: str) -> Any | None:
        """The value saved under `key` in `store`, or None when there is none."""
        what = f"get state {store}/{key}"
        resp = await self._call(what, "GET", f"/v1.0/state/{quote(store)}/{quote(key, safe='')}")
        self._check(what, resp)
        return resp.json() if resp.status_code == 200 and resp.content else None

    async def save_state(self, store: str, key: str, value: Any) -> None:
        """Save `value` (JSON) under `key` in `store`."""
        what = f"save state {store}/{key}"
        resp = await self._call(what, "POST", f"/v1.0/state/{quote(store)}", json=[{"key": key, "value": value}])
        self._check(what, resp)

    async def invoke(self, app_id: str, method: str, *, http_method: str = "GET",
                     json: Any | None = None) -> httpx.Response:
        """Call `method` (a path of the app, without the leading /) of app `app_id` through the sidecars."""
        path = f"/v1.0/invoke/{quote(app_id)}/method/{method.lstrip('/')}"
        return await self._call(f"invoke {app_id}/{method}", http_method, path, json=json)
