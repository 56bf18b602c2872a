"""The pure halves of the runtime harness: what each process loads is the rendered objects, with only the
rewrites their modules state (daprd_plan, prometheus, jaeger). No process is started here."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest

from tests.runtime.support import e2e
from tests.runtime.support.dapr import run_secrets
from todo_cloud.render import Manifest
from todo_cloud.runtime import dapr_pubsub, daprd_plan, jaeger, prometheus, workloads
from todo_cloud.workloads import WORKLOADS

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


def test_the_kafka_bootstrap_address_is_the_only_value_of_a_component_the_run_rewrites(
        runtime_release: list[Manifest]) -> None:
    rendered = components(runtime_release)
    (pubsub,) = [c for c in rendered.values() if c["spec"]["type"] == "pubsub.kafka"]
    brokers = {m["name"]: m.get("value") for m in pubsub["spec"]["metadata"]}["brokers"]
    plan = plan_for(runtime_release, "backend", addresses={brokers: "127.0.0.1:1,127.0.0.1:2"})
    loaded = plan.resources[f"component-{pubsub['metadata']['name']}.yaml"]
    got = {m["name"]: m for m in loaded["spec"]["metadata"]}
    assert got.pop("brokers") == {"name": "brokers", "value": "127.0.0.1:1,127.0.0.1:2"}
    assert got == {m["name"]: m for m in pubsub["spec"]["metadata"] if m["name"] != "brokers"}


WORKLOAD_PORTS = {"port": 5001, "dapr_http_port": 5002, "dapr_grpc_port": 5003}


@pytest.mark.parametrize("app_id", ["backend", "analytics", "frontend"])
def test_a_workload_runs_with_its_configmap_and_secret_files_and_only_the_stated_rewrites(
        runtime_release: list[Manifest], app_id: str) -> None:
    supplied = e2e.platform_secrets(runtime_release, "todo-chatbot", kafka={}, app_database="postgresql://db",
                                            state_database="host=db")
    plan = workloads.plan(runtime_release, app_id, secrets=supplied, folder=Path("/run/files"), **WORKLOAD_PORTS)
    dep = workloads.deployment(runtime_release, app_id)
    container = workloads.app_container(dep)
    assert plan.source.folder == WORKLOADS / app_id
    assert plan.argv("python") == ["python", "-m", f"todo_{app_id}"]
    (ref,) = container["envFrom"]
    (config_map,) = [c for c in runtime_release if c["kind"] == "ConfigMap"
                     and c["metadata"]["name"] == ref["configMapRef"]["name"]]
    mount, files = workloads.secret_mount(dep)
    expected = {k: v.replace(mount, "/run/files") for k, v in config_map["data"].items()}
    assert plan.env == {**expected, "DAPR_HTTP_PORT": "5002", "DAPR_GRPC_PORT": "5003"}
    assert plan.files == {f.name: supplied[f.secret][f.key] for f in files} and files
    env = workloads.process_env(plan.source, plan.port, plan.env)
    assert (env["PORT"], env["HOST"]) == ("5001", "127.0.0.1")
    assert plan.startup_path == container["startupProbe"]["httpGet"]["path"]


def test_the_apps_database_url_and_the_state_stores_connection_string_are_the_runs(
        runtime_release: list[Manifest]) -> None:
    docs = runtime_release
    supplied = e2e.platform_secrets(docs, "todo-chatbot", kafka={"dapr-pubsub": {"password": "p"}},
                                            app_database="postgresql://app", state_database="host=state")
    backend = {f.name: f for f in workloads.secret_mount(workloads.deployment(docs, "backend"))[1]}
    url = backend[e2e.DATABASE_URL_FILE]
    assert supplied[url.secret][url.key] == "postgresql://app"
    (store,) = [c for c in daprd_plan.dapr_objects(docs, "Component") if c["spec"]["type"] == "state.postgresql"]
    (conn,) = [r for r in daprd_plan.secret_refs(store) if r.entry == "connectionString"]
    assert supplied[conn.secret][conn.key] == "host=state"
    assert supplied["dapr-pubsub"] == {"password": "p"}


def test_a_secret_file_the_run_does_not_supply_is_named_with_its_deployment(runtime_release: list[Manifest]) -> None:
    dep = workloads.deployment(runtime_release, "backend")
    (first, *_) = workloads.secret_mount(dep)[1]
    with pytest.raises(workloads.PlanError, match=rf"Deployment/{dep['metadata']['name']} volume file {first.name}: "
                                                  rf"Secret {first.secret} key {first.key} is not among"):
        workloads.plan(runtime_release, "backend", secrets={}, folder=Path("/run/files"), **WORKLOAD_PORTS)


def test_a_component_that_is_no_reference_workload_is_named() -> None:
    dep = {"kind": "Deployment", "metadata": {"name": "todo-chatbot-audit"}, "spec": {"template": {
        "metadata": {"labels": {"app.kubernetes.io/component": "audit"}}, "spec": {"containers": []}}}}
    with pytest.raises(workloads.PlanError, match=r"Deployment/todo-chatbot-audit label app.kubernetes.io/component="
                                                  r"audit: no reference workload of that name \(workloads/: analytics"):
        workloads.source(dep)


def test_prometheus_holds_every_alert_for_the_runs_hold_and_keeps_the_rest_as_rendered(
        runtime_release: list[Manifest]) -> None:
    held, as_rendered = prometheus.rule_files(runtime_release, hold="2s"), prometheus.rule_files(runtime_release)
    alerts = 0
    for name, content in as_rendered.items():
        for group, held_group in zip(content["groups"], held[name]["groups"], strict=True):
            for rule, held_rule in zip(group["rules"], held_group["rules"], strict=True):
                if "alert" in rule and "for" in rule:
                    alerts += 1
                    assert held_rule == {**rule, "for": "2s"}
                else:
                    assert held_rule == rule
    assert alerts, "the rendered rules have alerts with a for:"


def test_each_apps_scrape_job_is_the_one_its_service_monitor_sets(runtime_release: list[Manifest]) -> None:
    for app_id in e2e.reference_apps(runtime_release):
        labels = e2e.service_labels(runtime_release, workloads.deployment(runtime_release, app_id))
        (monitor,) = [m for m in runtime_release if m["kind"] == "ServiceMonitor"
                      and m["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name") == app_id]
        (endpoint,) = monitor["spec"]["endpoints"]
        (job,) = [r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
        assert prometheus.job_of(runtime_release, "http", labels) == (job, endpoint["path"])


@pytest.mark.parametrize(("key", "partitions", "expected"), [
    # FNV-1a 32 of "a" is 0xe40c292c, negative as an int32 (-468965076): sarama takes the absolute remainder.
    (b"a", 6, 468965076 % 6),
    # of "b" 0xe70c2de5 (-418632219)
    (b"b", 6, 418632219 % 6),
    # of "" the offset basis 0x811c9dc5 (-2128831035)
    (b"", 3, 2128831035 % 3),
], ids=["a", "b", "empty"])
def test_the_partition_of_a_key_is_saramas_hash_partitioners(key: bytes, partitions: int, expected: int) -> None:
    assert dapr_pubsub.partition(key, partitions) == expected


def test_the_retry_waits_of_the_rendered_pubsub_policy_grow_from_daprs_defaults(
        runtime_release: list[Manifest]) -> None:
    (res,) = daprd_plan.dapr_objects(runtime_release, "Resiliency")
    policies = res["spec"]["policies"]["retries"]
    exponential = next(p for p in policies.values() if p["policy"] == "exponential")
    waits = dapr_pubsub.retry_waits(exponential)
    base = [dapr_pubsub.DAPR_EXPONENTIAL_DEFAULTS["initialInterval"] * 1.5 ** i for i in range(len(waits))]
    assert len(waits) == exponential["maxRetries"]
    assert [w for pair in waits for w in pair] == pytest.approx([w for b in base for w in (b * 0.5, b * 1.5)])
    capped = dapr_pubsub.retry_waits({**exponential, "maxInterval": "1s", "maxRetries": 4})
    assert [w for pair in capped for w in pair] == pytest.approx([0.25, 0.75, 0.375, 1.125, 0.5, 1.5, 0.5, 1.5])
    constant = next(p for p in policies.values() if p["policy"] == "constant")
    assert dapr_pubsub.retry_waits(constant) == [(dapr_pubsub.seconds(constant["duration"]),) * 2] * constant[
        "maxRetries"]
