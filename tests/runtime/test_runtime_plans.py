"""The pure halves of the runtime harness: what each process loads is the rendered objects, with only the
rewrites their modules state (daprd_plan, prometheus, jaeger). No process is started here."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
from dapr_support import run_secrets

from todo_cloud.render import Manifest
from todo_cloud.runtime import daprd_plan, jaeger, prometheus

pytestmark = pytest.mark.xdist_group("runtime-dapr")

PORTS = daprd_plan.Ports(http=1001, grpc=1002, internal_grpc=1003, metrics=1004)


def plan_for(rendered: list[Manifest], app_id: str, **kwargs: object) -> daprd_plan.DaprdPlan:
    options: dict = {"ports": PORTS, "folder": Path("/run/daprd"), "name_resolution_db": Path("/run/nr.db"),
                     "secrets": run_secrets(rendered), "tracing_endpoint": "127.0.0.1:4999", **kwargs}
    return daprd_plan.plan(rendered, app_id, **options)


def components(rendered: list[Manifest]) -> dict[str, Manifest]:
    return {c["metadata"]["name"]: c for c in daprd_plan.dapr_objects(rendered, "Component")}


@pytest.mark.parametrize("app_id", ["frontend", "backend"])
def test_a_daprd_loads_exactly_the_objects_scoped_to_its_app(runtime_release: list[Manifest], app_id: str) -> None:
    loaded = plan_for(runtime_release, app_id).resources.values()
    names = {(o["kind"], o["metadata"]["name"]) for o in loaded}
    expected = {(o["kind"], o["metadata"]["name"]) for kind in ("Component", "Resiliency", "Subscription")
                for o in daprd_plan.dapr_objects(runtime_release, kind) if daprd_plan.in_scope(o, app_id)}
    assert names == expected | {("Component", daprd_plan.HARNESS_SECRET_STORE)}


def test_components_keep_their_rendered_spec_and_read_secrets_from_the_harness_store(
        runtime_release: list[Manifest]) -> None:
    plan = plan_for(runtime_release, "backend")
    rendered = components(runtime_release)
    for obj in plan.resources.values():
        name = obj["metadata"]["name"]
        if obj["kind"] != "Component" or name == daprd_plan.HARNESS_SECRET_STORE:
            continue
        assert obj["spec"] == rendered[name]["spec"]
        assert obj["scopes"] == rendered[name]["scopes"]
        refs = daprd_plan.secret_refs(rendered[name])
        assert obj.get("auth") == ({"secretStore": daprd_plan.HARNESS_SECRET_STORE} if refs else None)


def test_the_harness_secret_store_holds_exactly_the_referenced_secret_keys(runtime_release: list[Manifest]) -> None:
    supplied = run_secrets(runtime_release)
    plan = plan_for(runtime_release, "backend", secrets=supplied)
    refs = [r for c in components(runtime_release).values() if daprd_plan.in_scope(c, "backend")
            for r in daprd_plan.secret_refs(c)]
    assert refs, "the backend's components reference no Secret: nothing is tested here"
    assert plan.secrets == {r.secret: {k.key: supplied[r.secret][k.key] for k in refs if k.secret == r.secret}
                            for r in refs}
    store = plan.resources[f"component-{daprd_plan.HARNESS_SECRET_STORE}.yaml"]
    assert store["spec"]["type"] == "secretstores.local.file"
    assert {m["name"]: m["value"] for m in store["spec"]["metadata"]} == {
        "secretsFile": "/run/daprd/secrets.json", "multiValued": "true"}
    assert store["scopes"] == ["backend"]


def test_a_secret_the_run_does_not_supply_is_named_with_its_component_and_entry(
        runtime_release: list[Manifest]) -> None:
    supplied = run_secrets(runtime_release)
    ref = next(r for c in components(runtime_release).values() for r in daprd_plan.secret_refs(c))
    del supplied[ref.secret][ref.key]
    with pytest.raises(daprd_plan.PlanError, match=rf"Component/{ref.component} metadata {ref.entry}: "
                                                   rf"secretKeyRef {ref.secret}/{ref.key} is not among"):
        plan_for(runtime_release, "backend", secrets=supplied)


def test_the_configuration_differs_from_the_rendered_one_only_by_the_stated_rewrites(
        runtime_release: list[Manifest]) -> None:
    plan = plan_for(runtime_release, "backend")
    app = daprd_plan.apps(runtime_release)["backend"]
    (rendered,) = [c for c in daprd_plan.dapr_objects(runtime_release, "Configuration")
                   if c["metadata"]["name"] == app.config]
    got = copy.deepcopy(plan.configuration)
    assert got["spec"]["tracing"]["otel"].pop("endpointAddress") == "127.0.0.1:4999"
    assert got["spec"].pop("nameResolution") == {"component": "sqlite", "version": "v1",
                                                 "configuration": {"connectionString": "/run/nr.db"}}
    expected = copy.deepcopy(rendered)
    del expected["spec"]["tracing"]["otel"]["endpointAddress"]
    expected["spec"].pop("mtls")
    assert got == expected


def test_the_daprd_command_uses_the_ports_chosen_at_start_and_the_workloads_annotations(
        runtime_release: list[Manifest]) -> None:
    supplied = run_secrets(runtime_release)
    plan = plan_for(runtime_release, "backend", app_port=5555, secrets=supplied)
    app = plan.app
    options = dict(itertools.pairwise(plan.argv(Path("/bin/daprd"), Path("/run/daprd"))))
    assert options["--app-id"] == "backend"
    assert options["--app-port"] == "5555"
    assert options["--app-protocol"] == app.annotations["dapr.io/app-protocol"]
    assert options["--app-health-check-path"] == app.annotations["dapr.io/app-health-check-path"]
    assert options["--log-level"] == app.annotations["dapr.io/log-level"]
    ports = ("dapr-http-port", "dapr-grpc-port", "dapr-internal-grpc-port", "metrics-port")
    assert [options[f"--{p}"] for p in ports] == ["1001", "1002", "1003", "1004"]
    token = supplied[app.annotations["dapr.io/api-token-secret"]][daprd_plan.API_TOKEN_KEY]
    assert plan.env({"PATH": "/bin", "DAPR_API_TOKEN": "stale"})["DAPR_API_TOKEN"] == token


def test_prometheus_gets_every_rendered_rule_group_at_the_runs_interval(runtime_release: list[Manifest]) -> None:
    files = prometheus.rule_files(runtime_release)
    rules = prometheus.prometheus_rules(runtime_release)
    assert len(files) == len(rules)
    for rule in rules:
        groups = files[f"{rule['metadata']['name']}.rules.yaml"]["groups"]
        assert [{k: v for k, v in g.items() if k != "interval"} for g in groups] == \
            [{k: v for k, v in g.items() if k != "interval"} for g in rule["spec"]["groups"]]
        assert {g["interval"] for g in groups} <= {prometheus.INTERVAL}


def test_the_sidecar_scrape_job_is_the_one_its_pod_monitor_sets(runtime_release: list[Manifest]) -> None:
    (monitor,) = [m for m in runtime_release if m["kind"] == "PodMonitor"
                  and any(ep["port"] == "dapr-metrics" for ep in m["spec"]["podMetricsEndpoints"])]
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    (job_relabel,) = [r for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
    assert prometheus.job_of(runtime_release, "dapr-metrics") == (job_relabel["replacement"], endpoint["path"])
    with pytest.raises(prometheus.PlanError, match="no rendered PodMonitor or ServiceMonitor scrapes a port named"):
        prometheus.job_of(runtime_release, "no-such-port")


def test_jaeger_keeps_the_rendered_pipeline_and_listens_only_on_loopback_in_memory(
        runtime_release: list[Manifest]) -> None:
    ports = jaeger.JaegerPorts(*range(2001, 2007))
    rendered = jaeger.rendered_config(runtime_release)
    cfg = jaeger.config(runtime_release, ports)
    assert cfg["service"]["pipelines"] == rendered["service"]["pipelines"]
    assert cfg["service"]["extensions"] == rendered["service"]["extensions"]
    otlp = cfg["receivers"]["otlp"]["protocols"]
    assert (otlp["grpc"]["endpoint"], otlp["http"]["endpoint"]) == ("127.0.0.1:2001", "127.0.0.1:2002")
    assert cfg["extensions"]["jaeger_storage"] == {"backends": {jaeger.STORE: {"memory": {"max_traces": 10000}}}}
    assert cfg["exporters"]["jaeger_storage_exporter"]["trace_storage"] == jaeger.STORE
    assert cfg["extensions"]["jaeger_query"]["storage"]["traces"] == jaeger.STORE
