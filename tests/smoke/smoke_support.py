"""Helpers of the smoke tests (kept out of conftest.py so that test modules can import them)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from todo_cloud import envs

NOT_REAL = "the simulated cluster runs no containers (KWOK fakes pods): needs kind or a real cluster"


@dataclass
class Target:
    """The environment under test and clients of its cluster."""

    env: envs.Environment
    api: Any  # kubernetes.client.ApiClient
    simulated: bool

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api)

    def apps(self) -> Any:
        from kubernetes import client

        return client.AppsV1Api(self.api)

    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api)

    def service_get(self, service: str, port: int | str, path: str, headers: dict[str, str] | None = None,
                    namespace: str | None = None) -> Any:
        """GET through the API server's service proxy; JSON decoded."""
        ns = namespace or self.env.namespace
        data = self.api.call_api(f"/api/v1/namespaces/{ns}/services/{service}:{port}/proxy{path}", "GET",
                                 header_params=headers or {}, auth_settings=["BearerToken"],
                                 _preload_content=False)[0].data
        return json.loads(data)

    def require_real(self) -> None:
        if self.simulated:
            pytest.skip(NOT_REAL)


def eventually(check: Callable[[], Any], timeout: float = 60, every: float = 3) -> Any:
    """`check()`'s first truthy result within `timeout` seconds; its last result (or error) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result or time.monotonic() > deadline:
                return result
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(every)
