"""Helpers of the smoke tests (kept out of conftest.py so that test modules can import them)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from todo_cloud import envs
from todo_cloud.eventflow import KAFKA_HOME, ToolFailed
from todo_cloud.render import Manifest

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

    def objects(self, *resources: tuple[str, str, str]) -> list[Manifest]:
        """The deployed custom resources of the namespace, by (group, version, plural), as plain objects."""
        out: list[Manifest] = []
        for group, version, plural in resources:
            listed = self.custom().list_namespaced_custom_object(group, version, self.env.namespace, plural)
            for item in listed["items"]:
                item.setdefault("apiVersion", f"{group}/{version}")
                item.setdefault("kind", listed.get("kind", "").removesuffix("List"))
                out.append(item)
        return out

    def secret_data(self, name: str) -> dict[str, str]:
        """A Secret of the namespace, its values decoded ({} when there is none)."""
        from kubernetes.client.exceptions import ApiException

        try:
            data = self.core().read_namespaced_secret(name, self.env.namespace).data or {}
        except ApiException as exc:
            if exc.status == 404:
                return {}
            raise
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def running_pods(self, selector: str) -> list[str]:
        """Names of the namespace's Running pods that match a label selector, sorted."""
        pods = self.core().list_namespaced_pod(self.env.namespace, label_selector=selector).items
        return sorted(p.metadata.name for p in pods if p.status.phase == "Running")

    def exec(self, pod: str, container: str, argv: Sequence[str], timeout: float = 180) -> str:
        """Run `argv` in a container of a pod of the namespace (the Kubernetes exec API); its standard output.
        ToolFailed when it exits non-zero or outlives `timeout`."""
        from kubernetes.stream import stream

        resp = stream(self.core().connect_get_namespaced_pod_exec, pod, self.env.namespace, container=container,
                      command=list(argv), stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
        try:
            resp.run_forever(timeout=timeout)
            finished = not resp.is_open()
            out, err, code = resp.read_stdout(), resp.read_stderr(), resp.returncode
        finally:
            resp.close()
        tool = [a for a in argv if a.startswith(f"{KAFKA_HOME}/bin/")]
        name = tool[0].rsplit("/", 1)[1] if tool else argv[0]
        if not finished:
            raise ToolFailed(f"{pod}/{container}: {name} did not finish within {timeout:.0f} s")
        if code != 0:
            raise ToolFailed(f"{pod}/{container}: {name} exited {code}: {err.strip()[-3000:]} {out.strip()[-3000:]}")
        return out


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
