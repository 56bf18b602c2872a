"""Service invocation between two real daprds loaded with the rendered Configuration and Resiliency:
the callee's app is reached, the Resiliency's invoke retries are what the callee sees, and the call's trace
reaches Jaeger through the exporter the rendered Configuration names."""

from __future__ import annotations

import secrets

import pytest

from tests.runtime.support.dapr import DaprRun
from tests.runtime.support.standin import FAIL
from todo_cloud.runtime import daprd_plan

pytestmark = pytest.mark.xdist_group("runtime-dapr")

CALLER, CALLEE = "frontend", "backend"


def resiliency_of(run: DaprRun) -> dict:
    (res,) = [r for r in daprd_plan.dapr_objects(run.rendered, "Resiliency") if daprd_plan.in_scope(r, CALLER)]
    return res


def invoke_policy(run: DaprRun) -> dict:
    """The retry policy the rendered Resiliency applies to invocations of the callee."""
    spec = resiliency_of(run)["spec"]
    return spec["policies"]["retries"][spec["targets"]["apps"][CALLEE]["retry"]]


def test_each_daprd_loaded_the_rendered_configuration_and_resiliency(dapr_run: DaprRun) -> None:
    resiliency = resiliency_of(dapr_run)["metadata"]["name"]
    for app_id, sidecar in dapr_run.sidecars.items():
        meta = sidecar.metadata()
        assert meta["id"] == app_id
        loaded = {c["name"]: c["type"] for c in meta.get("components", [])}
        assert loaded == {daprd_plan.HARNESS_SECRET_STORE: "secretstores.local.file"}, f"logs: {sidecar.log}"
        assert resiliency in sidecar.log.read_text(), f"daprd of {app_id} did not load Resiliency {resiliency}"


def test_invocation_through_both_sidecars_reaches_the_callee_app(dapr_run: DaprRun) -> None:
    status, body = dapr_run.sidecars[CALLER].invoke(CALLEE, "hello")
    assert (status, body) == (200, b"backend GET /hello"), f"logs: {dapr_run.logs}"
    (call,) = dapr_run.apps[CALLEE].calls("/hello")
    assert call.headers.get("dapr-caller-app-id") == CALLER


def test_a_failing_callee_receives_the_resiliency_policys_retries(dapr_run: DaprRun) -> None:
    policy = invoke_policy(dapr_run)
    assert policy["policy"] == "constant"
    interval = float(policy["duration"].removesuffix("s"))
    before = len(dapr_run.apps[CALLEE].calls(FAIL))
    status, took = dapr_run.failing_call(CALLER, CALLEE)
    attempts = len(dapr_run.apps[CALLEE].calls(FAIL)) - before
    assert status == 500
    assert attempts == policy["maxRetries"] + 1, f"logs: {dapr_run.logs}"
    assert took >= policy["maxRetries"] * interval * 0.9


def test_the_trace_of_an_invocation_reaches_jaeger(dapr_run: DaprRun) -> None:
    # The caller's app starts a sampled trace (W3C traceparent), as an instrumented frontend does: the rendered
    # sampling rate applies to traces daprd starts itself (Dapr's sampler follows a parent's decision).
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{parent}-01"
    status, _ = dapr_run.sidecars[CALLER].invoke(CALLEE, "traced", headers={"traceparent": traceparent})
    assert status == 200
    (call,) = dapr_run.apps[CALLEE].calls("/traced")
    assert call.headers["traceparent"].split("-")[1] == trace_id
    traces = dapr_run.jaeger.wait_for_traces(CALLER, predicate=lambda t: t["traceID"] == trace_id)
    services = {p["serviceName"] for p in traces[0]["processes"].values()}
    assert {CALLER, CALLEE} <= services, f"trace {trace_id} has spans of {services} only; logs: {dapr_run.logs}"
