"""Every workload of every environment carries the hardened fields the app chart promises."""

from __future__ import annotations

import pytest

from tests.charts.app.support import CONSUMERS, DEFAULT_COMPONENTS, containers_by_name, name, pod_spec, render_app
from todo_cloud import cluster_shape, envs
from todo_cloud.render import Manifest, find, get

COMPONENT = pytest.mark.parametrize("component", DEFAULT_COMPONENTS)


def test_only_frontend_backend_and_analytics_are_on_by_default(app: list[Manifest]) -> None:
    assert sorted(d["metadata"]["name"] for d in find(app, "Deployment")) == [name(c) for c in DEFAULT_COMPONENTS]


@COMPONENT
def test_app_container_has_startup_readiness_and_liveness_probes_on_http(app: list[Manifest], component: str) -> None:
    container = containers_by_name(pod_spec(app, component))[component]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["port"] == "http", probe
        assert container[probe]["httpGet"]["path"].startswith("/"), probe
    assert container["readinessProbe"]["httpGet"]["path"] == {"backend": "/ready", "frontend": "/api/health",
                                                                  "analytics": "/health"}[component]


@COMPONENT
def test_app_container_has_cpu_and_memory_requests_and_limits(app: list[Manifest], component: str) -> None:
    resources = containers_by_name(pod_spec(app, component))[component]["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert "memory" in resources["limits"] and "cpu" in resources["limits"]


@COMPONENT
def test_rolling_update_never_takes_a_pod_away_first(app: list[Manifest], component: str) -> None:
    strategy = get(app, "Deployment", name(component))["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


@COMPONENT
def test_pods_spread_across_nodes_and_across_zones_only_where_zones_exist(
    app: list[Manifest], component: str, env_name: str
) -> None:
    keys = [c["topologyKey"] for c in pod_spec(app, component)["topologySpreadConstraints"]]
    # kind nodes carry zone labels (config/kind.yaml); DOKS nodes do not.
    expected = ["kubernetes.io/hostname", "topology.kubernetes.io/zone"] if env_name == "local" else [
        "kubernetes.io/hostname"]
    assert keys == expected
    for constraint in pod_spec(app, component)["topologySpreadConstraints"]:
        assert constraint["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == component


@COMPONENT
def test_config_checksum_annotation_follows_the_configmap(component: str) -> None:
    def checksum(docs: list[Manifest]) -> str:
        return get(docs, "Deployment", name(component))["spec"]["template"]["metadata"]["annotations"][
            "checksum/config"]

    before = render_app("local")
    after = render_app("local", {"components": {component: {"config": {"FEATURE_FLAG": "on"}}}})
    assert get(after, "ConfigMap", name(component))["data"]["FEATURE_FLAG"] == "on"
    assert checksum(before) != checksum(after)


@COMPONENT
def test_pod_meets_the_restricted_pod_security_profile(app: list[Manifest], component: str) -> None:
    spec = pod_spec(app, component)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    for container in spec["containers"]:
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"]["drop"] == ["ALL"]
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["seccompProfile"]["type"] == "RuntimeDefault"
    assert "hostNetwork" not in spec and "hostPID" not in spec


@COMPONENT
def test_read_only_root_filesystem_gets_a_writable_tmp_emptydir(app: list[Manifest], component: str) -> None:
    spec = pod_spec(app, component)
    volumes = {v["name"]: v for v in spec["volumes"] if v["name"] != "secrets"}
    mounts = {m["name"]: m for m in containers_by_name(spec)[component]["volumeMounts"] if m["name"] != "secrets"}
    assert mounts["tmp"]["mountPath"] == "/tmp"
    assert set(mounts) == set(volumes)
    assert all("emptyDir" in v and v["emptyDir"]["sizeLimit"] for v in volumes.values())


@COMPONENT
def test_each_component_has_its_own_service_account(app: list[Manifest], component: str) -> None:
    spec = pod_spec(app, component)
    assert spec["serviceAccountName"] == name(component)
    assert get(app, "ServiceAccount", name(component))["metadata"]["name"] == spec["serviceAccountName"]


@COMPONENT
def test_no_component_gets_an_api_token_or_a_secret_role_by_default(app: list[Manifest], component: str) -> None:
    # Secrets are mounted files; no Dapr secret store is scoped to an app unless it opts in (charts/platform)
    assert pod_spec(app, component)["automountServiceAccountToken"] is False
    assert get(app, "ServiceAccount", name(component))["automountServiceAccountToken"] is False
    assert not find(app, "Role") and not find(app, "RoleBinding")


def test_a_component_that_opts_in_may_read_only_its_named_secrets() -> None:
    docs = render_app("local", {"components": {"backend": {"serviceAccount": {
        "automountToken": True, "readSecrets": ["todo-chatbot-database", "todo-chatbot-model-api"]}}}})
    assert pod_spec(docs, "backend")["automountServiceAccountToken"] is True
    role = get(docs, "Role", name("backend") + "-secret-reader")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"],
                              "resourceNames": ["todo-chatbot-database", "todo-chatbot-model-api"]}]
    binding = get(docs, "RoleBinding", name("backend") + "-secret-reader")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": name("backend"), "namespace": "todo-chatbot"}]
    assert not find(docs, "Role", name("frontend") + "-secret-reader")


def test_service_account_token_is_mounted_only_when_asked_for() -> None:
    docs = render_app("local", {"components": {"frontend": {"serviceAccount": {"automountToken": True}}}})
    assert pod_spec(docs, "frontend")["automountServiceAccountToken"] is True
    assert get(docs, "ServiceAccount", name("frontend"))["automountServiceAccountToken"] is True


@COMPONENT
def test_service_targets_the_component_pods_on_http(app: list[Manifest], component: str) -> None:
    service = get(app, "Service", name(component))
    deployment = get(app, "Deployment", name(component))
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    port = service["spec"]["ports"][0]
    assert port["targetPort"] == "http"
    assert port["port"] == {"frontend": 3000, "backend": 8000, "analytics": 8000}[component]


SECRET_FILES = {
    "backend": {"DATABASE_URL": ("todo-chatbot-database", "url"),
                "OPENAI_API_KEY": ("todo-chatbot-model-api", "api-key"),
                "BETTER_AUTH_SECRET": ("todo-chatbot-auth", "secret"),
                "DAPR_API_TOKEN": ("todo-chatbot-dapr-api-token", "token")},
    "frontend": {"BETTER_AUTH_SECRET": ("todo-chatbot-auth", "secret"),
                 "DAPR_API_TOKEN": ("todo-chatbot-dapr-api-token", "token")},
    "analytics": {"DAPR_API_TOKEN": ("todo-chatbot-dapr-api-token", "token")},
}


@COMPONENT
def test_secrets_are_read_only_files_from_existing_secrets(app: list[Manifest], component: str) -> None:
    spec = pod_spec(app, component)
    container = containers_by_name(spec)[component]
    assert "env" not in container  # no secret in the environment (it leaks to child processes and dumps)
    assert {"name": "secrets", "mountPath": "/var/run/secrets/todo-chatbot", "readOnly": True} in container[
        "volumeMounts"]
    volume = {v["name"]: v for v in spec["volumes"]}["secrets"]["projected"]
    assert volume["defaultMode"] == 0o440
    files = {item["path"]: (source["secret"]["name"], item["key"])
             for source in volume["sources"] for item in source["secret"]["items"]}
    assert files == SECRET_FILES[component]


@COMPONENT
def test_configmap_names_each_secret_file(app: list[Manifest], component: str) -> None:
    data = get(app, "ConfigMap", name(component))["data"]
    for file in SECRET_FILES[component]:
        assert data[f"{file}_FILE"] == f"/var/run/secrets/todo-chatbot/{file}"
    assert [c["envFrom"] for c in pod_spec(app, component)["containers"]] == [
        [{"configMapRef": {"name": name(component)}}]]


def test_frontend_reaches_the_backend_through_its_service_url(app: list[Manifest]) -> None:
    data = get(app, "ConfigMap", name("frontend"))["data"]
    assert data["BACKEND_URL"] == f"http://{name('backend')}:8000"
    assert data["DAPR_APP_ID"] == "frontend"


def test_configmap_carries_the_environment(app: list[Manifest], env_name: str) -> None:
    assert get(app, "ConfigMap", name("backend"))["data"]["APP_ENVIRONMENT"] == env_name


@COMPONENT
def test_pods_pull_from_the_environments_registry_with_its_integration_secret(
    app: list[Manifest], component: str, env_name: str
) -> None:
    # DOKS's registry integration copies `registry-<registry>` into every namespace but adds it only to each
    # namespace's `default` ServiceAccount; the app pods run under their own, so they must name it themselves
    env = envs.get(env_name)
    spec = pod_spec(app, component)
    assert spec["serviceAccountName"] != "default"
    assert containers_by_name(spec)[component]["image"].startswith(env.image_registry + "/")
    if env.digitalocean is None:
        assert "imagePullSecrets" not in spec
    else:
        assert spec["imagePullSecrets"] == [{"name": f"registry-{env.digitalocean.registry}"}]
        assert env.digitalocean.registry == cluster_shape.tfvars(env_name)["registry_name"]


@COMPONENT
def test_production_images_are_pinned_by_digest(component: str) -> None:
    image = containers_by_name(pod_spec(render_app("production"), component))[component]["image"]
    assert "@sha256:" in image


REPLICAS = {
    # environment: (replicas or None with an HPA, HPA (min, max) or None)
    "local": (1, None),
    "staging": (None, (1, 3)),
    "production": (None, (2, 10)),
}


@COMPONENT
def test_replicas_and_autoscaling_follow_the_environment(app: list[Manifest], component: str, env_name: str) -> None:
    replicas, hpa_range = REPLICAS[env_name]
    deployment = get(app, "Deployment", name(component))
    assert deployment["spec"].get("replicas") == replicas
    hpas = find(app, "HorizontalPodAutoscaler", name(component))
    if hpa_range is None:
        assert not hpas
        return
    hpa = hpas[0]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == hpa_range
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name(component)}
    metrics = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["spec"]["metrics"]}
    assert set(metrics) == {"cpu", "memory"}
    assert all(t["type"] == "Utilization" and t["averageUtilization"] > 0 for t in metrics.values())


@COMPONENT
def test_pdb_exists_exactly_when_replicas_can_exceed_one(app: list[Manifest], component: str, env_name: str) -> None:
    pdbs = find(app, "PodDisruptionBudget", name(component))
    assert bool(pdbs) == (env_name != "local")
    if pdbs:
        assert pdbs[0]["spec"]["maxUnavailable"] == 1
        assert pdbs[0]["spec"]["selector"] == get(app, "Deployment", name(component))["spec"]["selector"]


def test_fixed_replicas_above_one_get_a_pdb_and_no_hpa() -> None:
    docs = render_app("local", {"components": {"backend": {"replicas": 3}}})
    assert get(docs, "Deployment", name("backend"))["spec"]["replicas"] == 3
    assert find(docs, "PodDisruptionBudget", name("backend"))
    assert not find(docs, "HorizontalPodAutoscaler")


def test_an_explicit_false_in_a_component_overrides_a_true_default() -> None:
    docs = render_app("production", {"components": {"frontend": {"autoscaling": {"enabled": False}, "replicas": 2}}})
    assert not find(docs, "HorizontalPodAutoscaler", name("frontend"))
    assert find(docs, "HorizontalPodAutoscaler", name("backend"))
    assert get(docs, "Deployment", name("frontend"))["spec"]["replicas"] == 2


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_an_enabled_consumer_gets_the_same_hardened_workload(all_components: list[Manifest], consumer: str) -> None:
    spec = pod_spec(all_components, consumer)
    container = containers_by_name(spec)[consumer]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["readinessProbe"]["httpGet"]["port"] == "http"
    assert spec["serviceAccountName"] == name(consumer)
    assert find(all_components, "HorizontalPodAutoscaler", name(consumer))
    assert find(all_components, "PodDisruptionBudget", name(consumer))
    annotations = get(all_components, "Deployment", name(consumer))["spec"]["template"]["metadata"]["annotations"]
    assert annotations["dapr.io/app-id"] == consumer


def test_consumers_know_their_topics(all_components: list[Manifest]) -> None:
    data = get(all_components, "ConfigMap", name("audit"))["data"]
    assert data["SUBSCRIBED_TOPICS"] == "todo-events,chat-events,user-events"
