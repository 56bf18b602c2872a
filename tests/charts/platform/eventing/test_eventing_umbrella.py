"""The umbrella's Strimzi and Dapr values per environment, and how the platform fits the rest of the release."""

from __future__ import annotations

import pytest

from tests.charts.platform.eventing.support import EVENTING_KINDS, render_platform
from todo_cloud import deps, envs
from todo_cloud.render import Manifest, find, get, render_environment

DAPR_HA = ("dapr-operator", "dapr-sentry", "dapr-sidecar-injector")
# Profiles of production (config/profiles.yaml) that run the Dapr control plane in HA.
DAPR_HA_PROFILES = {"ha"}


def dapr_ha(env_name: str) -> bool:
    return env_name == "production" and envs.get("production").profile in DAPR_HA_PROFILES


def replicas(release: list[Manifest], kind: str, name: str) -> int:
    return get(release, kind, name)["spec"]["replicas"]


def test_dapr_control_plane_is_highly_available_only_in_production_under_an_ha_profile(
        release: list[Manifest], env_name: str) -> None:
    want = 3 if dapr_ha(env_name) else 1
    for name in DAPR_HA:
        assert replicas(release, "Deployment", name) == want, name
    assert replicas(release, "StatefulSet", "dapr-placement-server") == want


@pytest.mark.parametrize("profile", sorted(DAPR_HA_PROFILES))
def test_production_dapr_replicas_spread_by_hostname(upstream_charts: deps.DepsStatus, profile: str) -> None:
    del upstream_charts
    release = render_environment("production", profile=profile)
    for name in DAPR_HA:
        affinity = get(release, "Deployment", name)["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        term = affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
        assert term["topologyKey"] == "kubernetes.io/hostname", name


def test_dapr_scheduler_runs_three_replicas_on_persistent_volumes(release: list[Manifest], env_name: str) -> None:
    scheduler = get(release, "StatefulSet", "dapr-scheduler-server")["spec"]
    assert scheduler["replicas"] == 3
    (claim,) = scheduler["volumeClaimTemplates"]
    size = claim["spec"]["resources"]["requests"]["storage"]
    assert size == ("16Gi" if dapr_ha(env_name) else "1Gi")


def test_mtls_is_on_in_the_control_plane(release: list[Manifest]) -> None:
    assert get(release, "Configuration", "daprsystem")["spec"]["mtls"]["enabled"] is True


def test_the_operator_watchdog_restarts_pods_that_missed_their_sidecar(release: list[Manifest]) -> None:
    args = get(release, "Deployment", "dapr-operator")["spec"]["template"]["spec"]["containers"][0]["args"]
    interval = args[args.index("--watch-interval") + 1]
    assert interval not in ("0", "")


def test_strimzi_watches_only_the_release_namespace(release: list[Manifest]) -> None:
    operator = get(release, "Deployment", "strimzi-cluster-operator")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in operator["env"]}
    assert env["STRIMZI_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert operator["resources"]["requests"]["memory"] == "384Mi"


def test_tracing_endpoint_is_the_jaeger_otlp_service(release: list[Manifest]) -> None:
    endpoint = get(release, "Configuration", "todo-chatbot-dapr-config")["spec"]["tracing"]["otel"]["endpointAddress"]
    host, port = endpoint.split(":")
    service = get(release, "Service", host)
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("kind", EVENTING_KINDS)
def test_the_release_carries_the_platform_charts_objects_as_the_chart_renders_them(
        release: list[Manifest], env_name: str, kind: str) -> None:
    alone = find(render_platform(env_name), kind)
    assert alone, f"charts/platform renders no {kind} in {env_name}"
    assert find(release, kind) == alone


def test_first_install_phase_keeps_kafka_and_dapr_resources(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    phase_one = render_environment("production", {"global": {"workloads": {"enabled": False}}})
    for kind, name in (("Kafka", "todo-chatbot-kafka"), ("Component", "pubsub"),
                       ("Configuration", "todo-chatbot-dapr-config"), ("Deployment", "dapr-sidecar-injector")):
        assert get(phase_one, kind, name)


def selected(policy: Manifest, labels: dict[str, str]) -> bool:
    return policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def test_eventing_policies_select_the_upstream_operators(release: list[Manifest]) -> None:
    dapr = get(release, "NetworkPolicy", "eventing-dapr-control-plane")
    for kind, name in (("Deployment", "dapr-operator"), ("Deployment", "dapr-sentry"),
                       ("Deployment", "dapr-sidecar-injector"), ("StatefulSet", "dapr-placement-server"),
                       ("StatefulSet", "dapr-scheduler-server")):
        assert selected(dapr, get(release, kind, name)["spec"]["template"]["metadata"]["labels"]), name
    strimzi = get(release, "NetworkPolicy", "eventing-strimzi-operator")
    assert selected(strimzi, get(release, "Deployment", "strimzi-cluster-operator")["spec"]["template"]["metadata"][
        "labels"])


def test_the_control_plane_policy_selects_no_app_pod(release: list[Manifest]) -> None:
    dapr = get(release, "NetworkPolicy", "eventing-dapr-control-plane")
    for workload in find(release, "Deployment"):
        if workload["metadata"]["name"].startswith("todo-chatbot-"):
            assert not selected(dapr, workload["spec"]["template"]["metadata"]["labels"]), workload["metadata"]["name"]
