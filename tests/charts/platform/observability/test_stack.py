"""kube-prometheus-stack, Loki and Jaeger as each environment installs them: replicas, retention,
persistence, PDBs, Alertmanager routing with webhook URLs from a Secret, Grafana data sources linked by
trace id, Loki monolithic with retention and object storage, Jaeger's storage."""

from __future__ import annotations

import base64
import re

import pytest
import yaml

from todo_cloud import envs, yamlfile
from todo_cloud.observability.retention import size_in_bytes
from todo_cloud.paths import CHARTS, UMBRELLA, VALUES
from todo_cloud.render import Manifest, find, get

PROMETHEUS = "todo-chatbot-kube-promethe-prometheus"
ALERTMANAGER = "todo-chatbot-kube-promethe-alertmanager"
# production's profile (config/profiles.yaml) -> what it runs, as EXPECTED below
PROFILES = {
    "seed-budget": (1, "10Gi", 1, "s3", "memory"),
    "ha": (2, "50Gi", 3, "s3", "badger"),
}
# environment -> (Prometheus replicas, volume or None, Alertmanager replicas, Loki storage, Jaeger backend)
EXPECTED = {
    "local": (1, None, 1, "filesystem", "memory"),
    "staging": (1, "10Gi", 2, "s3", "memory"),
    "production": PROFILES[str(envs.get("production").profile)],
}


@pytest.fixture(scope="module")
def prometheus(release: list[Manifest]) -> dict:
    return get(release, "Prometheus", PROMETHEUS)["spec"]


def loki_config(release: list[Manifest]) -> dict:
    cm = next(d for d in find(release, "ConfigMap") if d["metadata"]["name"] in ("loki", "todo-chatbot-loki")
              and "config.yaml" in d.get("data", {}))
    return yaml.safe_load(cm["data"]["config.yaml"])


def jaeger_config(release: list[Manifest]) -> dict:
    return yaml.safe_load(get(release, "ConfigMap", "user-config")["data"]["user-config.yaml"])


def test_prometheus_replicas_retention_and_volume_follow_the_environment(prometheus: dict, env_name: str) -> None:
    replicas, volume, _, _, _ = EXPECTED[env_name]
    assert prometheus["replicas"] == replicas
    assert re.fullmatch(r"\d+[dhw]", prometheus["retention"])
    if volume is None:
        assert "storage" not in prometheus
        return
    claim = prometheus["storage"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == volume
    assert size_in_bytes(prometheus["retentionSize"]) < 0.95 * size_in_bytes(volume)


@pytest.mark.parametrize("kind", ["serviceMonitor", "podMonitor", "rule"])
def test_prometheus_selects_by_the_release_label_explicitly(prometheus: dict, env_name: str, kind: str) -> None:
    assert prometheus[f"{kind}Selector"] == {"matchLabels": {"release": envs.get(env_name).release}}


def test_alertmanager_replicas_follow_the_environment(release: list[Manifest], env_name: str) -> None:
    assert get(release, "Alertmanager", ALERTMANAGER)["spec"]["replicas"] == EXPECTED[env_name][2]


@pytest.mark.parametrize("kind,name,workload", [("Prometheus", PROMETHEUS, "prometheus"),
                                                ("Alertmanager", ALERTMANAGER, "alertmanager")])
def test_pdb_exactly_where_more_than_one_replica_runs(release: list[Manifest], kind: str, name: str,
                                                      workload: str) -> None:
    replicas = get(release, kind, name)["spec"]["replicas"]
    pdbs = [p for p in find(release, "PodDisruptionBudget")
            if p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name") == workload]
    assert len(pdbs) == (1 if replicas > 1 else 0)
    for pdb in pdbs:
        assert 0 < pdb["spec"]["minAvailable"] < replicas


@pytest.fixture(scope="module")
def alertmanager_config(release: list[Manifest]) -> dict:
    secret = get(release, "Secret", f"alertmanager-{ALERTMANAGER}")
    return yaml.safe_load(base64.b64decode(secret["data"]["alertmanager.yaml"]))


def test_alertmanager_routes_by_severity(alertmanager_config: dict) -> None:
    routes = {r["receiver"]: r["matchers"] for r in alertmanager_config["route"]["routes"] if r["receiver"] != "null"}
    assert routes == {"page": ['severity = "critical"'], "ticket": ['severity = "warning"']}
    assert alertmanager_config["route"]["receiver"] == "null"


def test_webhook_urls_come_from_the_mounted_secret(alertmanager_config: dict, release: list[Manifest]) -> None:
    secrets = get(release, "Alertmanager", ALERTMANAGER)["spec"]["secrets"]
    hooks = [h for r in alertmanager_config["receivers"] for h in r.get("webhook_configs", [])]
    assert {r["name"] for r in alertmanager_config["receivers"] if r.get("webhook_configs")} == {"page", "ticket"}
    for hook in hooks:
        assert "url" not in hook
        secret, key = re.fullmatch(r"/etc/alertmanager/secrets/([^/]+)/(\w+)", hook["url_file"]).groups()
        assert secret in secrets and key in ("page", "ticket")


def test_no_webhook_url_in_the_alertmanager_config_of_any_values_file() -> None:
    def keys(node: object) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for v in node.values() for k in keys(v)}
        return {k for v in node for k in keys(v)} if isinstance(node, list) else set()

    for path in [UMBRELLA / "values.yaml", *VALUES.glob("*.yaml")]:
        values = yamlfile.load(path) or {}
        config = ((values.get("kube-prometheus-stack") or {}).get("alertmanager") or {}).get("config") or {}
        assert not keys(config) & {"url", "api_url", "slack_api_url", "service_key", "routing_key"}, path


def test_grafana_provisions_loki_and_jaeger_linked_by_trace_id(release: list[Manifest]) -> None:
    text = get(release, "ConfigMap", "todo-chatbot-kube-promethe-grafana-datasource")["data"]["datasource.yaml"]
    sources = {d["uid"]: d for d in yaml.safe_load(text)["datasources"]}
    assert {"prometheus", "loki", "jaeger"} <= set(sources)
    assert sources["loki"]["url"] == "http://todo-chatbot-loki:3100"
    assert sources["jaeger"]["url"] == "http://todo-chatbot-jaeger:16686"
    derived = sources["loki"]["jsonData"]["derivedFields"]
    assert [f["datasourceUid"] for f in derived] == ["jaeger"]
    assert re.search(derived[0]["matcherRegex"], 'msg="done" trace_id=4bf92f3577b34da6a3ce929d0e0e4736').group(1) \
        == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert sources["jaeger"]["jsonData"]["tracesToLogsV2"]["datasourceUid"] == "loki"


def test_grafana_sidecar_loads_the_platform_dashboards(release: list[Manifest]) -> None:
    grafana = get(release, "Deployment", "todo-chatbot-grafana")["spec"]["template"]["spec"]
    sidecar = next(c for c in grafana["containers"] if c["name"] == "grafana-sc-dashboard")
    env = {e["name"]: e.get("value") for e in sidecar["env"]}
    boards = [d for d in find(release, "ConfigMap") if "-dashboard-" in d["metadata"]["name"]]
    assert sorted(name for board in boards for name in board["data"]) == sorted(
        p.name for p in (CHARTS / "platform" / "dashboards").glob("*.json"))
    for board in boards:
        assert board["metadata"]["labels"][env["LABEL"]] == env["LABEL_VALUE"]


def test_loki_is_monolithic(release: list[Manifest]) -> None:
    assert get(release, "StatefulSet", "todo-chatbot-loki")["spec"]["replicas"] == 1
    names = {d["metadata"]["name"] for d in find(release, "StatefulSet") + find(release, "Deployment")}
    assert not {n for n in names if re.fullmatch(r"todo-chatbot-loki-(read|write|backend|gateway|.*cache)", n)}


def test_loki_keeps_logs_for_a_bounded_time(release: list[Manifest]) -> None:
    config = loki_config(release)
    assert config["compactor"]["retention_enabled"] is True
    assert re.fullmatch(r"\d+h", config["limits_config"]["retention_period"])
    assert config["schema_config"]["configs"][-1]["schema"] == "v13"


def test_loki_storage_follows_the_environment(release: list[Manifest], env_name: str) -> None:
    config = loki_config(release)
    storage = EXPECTED[env_name][3]
    assert config["schema_config"]["configs"][-1]["object_store"] == storage
    assert config["compactor"]["delete_request_store"] == storage
    if storage == "filesystem":
        assert "filesystem" in config["common"]["storage"]
        return
    s3 = config["common"]["storage"]["s3"]
    assert s3["endpoint"].endswith("digitaloceanspaces.com")
    assert s3["access_key_id"] == "${SPACES_ACCESS_KEY_ID}"
    assert s3["secret_access_key"] == "${SPACES_SECRET_ACCESS_KEY}"
    container = get(release, "StatefulSet", "todo-chatbot-loki")["spec"]["template"]["spec"]["containers"][0]
    assert "-config.expand-env=true" in container["args"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert refs["SPACES_ACCESS_KEY_ID"] == refs["SPACES_SECRET_ACCESS_KEY"] == "todo-chatbot-loki-spaces"


def test_jaeger_storage_follows_the_environment(release: list[Manifest], env_name: str) -> None:
    config = jaeger_config(release)
    store = config["exporters"]["jaeger_storage_exporter"]["trace_storage"]
    assert config["extensions"]["jaeger_query"]["storage"]["traces"] == store
    backend = config["extensions"]["jaeger_storage"]["backends"][store]
    assert list(backend) == [EXPECTED[env_name][4]]
    if "memory" in backend:
        assert 0 < backend["memory"]["max_traces"] <= 100000
        return
    assert backend["badger"]["ephemeral"] is False
    pod = get(release, "Deployment", "todo-chatbot-jaeger")["spec"]["template"]["spec"]
    claim = next(v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v)
    assert get(release, "PersistentVolumeClaim", claim)
    mount = next(m["mountPath"] for m in pod["containers"][0]["volumeMounts"] if m["name"] == "badger")
    assert backend["badger"]["directories"]["keys"].startswith(mount + "/")


def test_jaeger_exposes_its_metrics_for_scraping(release: list[Manifest]) -> None:
    reader = jaeger_config(release)["service"]["telemetry"]["metrics"]["readers"][0]
    port = reader["pull"]["exporter"]["prometheus"]["port"]
    service = get(release, "Service", "todo-chatbot-jaeger")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]}["internal-metrics"] == port


def test_grafana_admin_login_comes_from_an_existing_secret_outside_local(release: list[Manifest],
                                                                         env_name: str) -> None:
    grafana = get(release, "Deployment", "todo-chatbot-grafana")["spec"]["template"]["spec"]
    env = {e["name"]: e for c in grafana["containers"] for e in c.get("env", [])}
    ref = env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
    if env_name == "local":
        assert ref == "todo-chatbot-grafana"
        return
    assert ref == "todo-chatbot-grafana-admin"
    assert not find(release, "Secret", "todo-chatbot-grafana")
