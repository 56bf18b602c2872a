"""Prometheus with the rendered PrometheusRules: every rule group loads and evaluates without error, daprd's
metrics endpoint is scraped under the job its PodMonitor gives it, and the Dapr rules see real daprd series."""

from __future__ import annotations

import pytest

from tests.runtime.support.dapr import DaprRun
from todo_cloud.runtime import prometheus

pytestmark = pytest.mark.xdist_group("runtime-dapr")

CALLER, CALLEE = "frontend", "backend"


def rendered_groups(run: DaprRun) -> dict[str, int]:
    """Rule group name -> number of rules, over every rendered PrometheusRule."""
    return {g["name"]: len(g["rules"]) for r in prometheus.prometheus_rules(run.rendered) for g in r["spec"]["groups"]}


def test_every_rendered_rule_group_is_loaded(dapr_run: DaprRun) -> None:
    loaded = {g["name"]: len(g["rules"]) for g in dapr_run.prometheus.rule_groups()}
    assert loaded == rendered_groups(dapr_run)


def test_every_rule_evaluates_with_health_ok(dapr_run: DaprRun) -> None:
    def evaluated() -> list[dict]:
        rules = [r for g in dapr_run.prometheus.rule_groups() for r in g["rules"]]
        return rules if all(r.get("lastEvaluation", "").startswith("2") and r["health"] != "unknown"
                            for r in rules) else []

    rules = dapr_run.prometheus.wait("every rule evaluated once", evaluated)
    broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert broken == {}, f"Prometheus log: {dapr_run.prometheus.log}"


def test_each_daprd_metrics_endpoint_is_a_target_that_is_up(dapr_run: DaprRun) -> None:
    def up() -> list[dict]:
        targets = [t for t in dapr_run.prometheus.targets() if t["labels"]["job"] == dapr_run.sidecar_job]
        return targets if targets and all(t["health"] == "up" for t in targets) else []

    targets = dapr_run.prometheus.wait(f"targets of job {dapr_run.sidecar_job} up", up)
    assert {t["scrapeUrl"].split("//")[1].rstrip("/") for t in targets} == {
        d.metrics_target for d in dapr_run.sidecars.values()}
    app_ids = {s["metric"]["app_id"] for s in dapr_run.prometheus.query(
        f'dapr_runtime_component_loaded{{job="{dapr_run.sidecar_job}"}}')}
    assert app_ids == set(dapr_run.sidecars)


def test_the_dapr_invocation_error_rule_sees_the_failed_calls_of_real_sidecars(dapr_run: DaprRun) -> None:
    status, _ = dapr_run.failing_call(CALLER, CALLEE)
    assert status == 500

    def pending() -> list[dict]:
        return [a for a in dapr_run.prometheus.alerts()
                if a["labels"]["alertname"] == "DaprInvocationErrorRatio" and a["labels"].get("app_id") == CALLER]

    (alert,) = dapr_run.prometheus.wait("DaprInvocationErrorRatio of the caller pending", pending, timeout=30)
    assert alert["state"] == "pending"  # its `for` is minutes long; the expression holds on real series
    assert alert["labels"]["namespace"] == dapr_run.namespace
