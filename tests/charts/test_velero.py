"""Velero in the umbrella release (issue 16): where it runs, the schedules and retention of each environment's values,
the snapshot settings (which volumes are kept), the storage location (Terraform's bucket), its credentials, monitor
and alerts; and the versions the restore drill builds, which must be the chart's."""

from __future__ import annotations

import tarfile
from typing import Any

import pytest
import yaml

from todo_cloud import deps, envs, gobuild, versions
from todo_cloud.deploy.secrets import release_secrets
from todo_cloud.gates import backups, report
from todo_cloud.manifests import containers, split_image
from todo_cloud.paths import UMBRELLA
from todo_cloud.render import Manifest, find, get, render_environment, render_subchart, subchart_values

VELERO_ENVIRONMENTS = [e for e in envs.names() if subchart_values("velero", e).get("enabled")]
# The CSI driver of DigitalOcean's block storage (DOKS), whose VolumeSnapshotClass the schedules name.
DOBS_DRIVER = "dobs.csi.digitalocean.com"


@pytest.fixture(scope="module")
def production(upstream_charts: deps.DepsStatus) -> list[Manifest]:
    del upstream_charts
    return render_environment("production")


def velero_values(env: str) -> dict[str, Any]:
    return subchart_values("velero", env)


def volume_policy(docs: list[Manifest]) -> list[dict[str, Any]]:
    """The volume policies of the ConfigMap the schedules name as their resourcePolicy."""
    names = {s["spec"]["template"]["resourcePolicy"]["name"] for s in find(docs, "Schedule")}
    assert len(names) == 1, names
    [data] = get(docs, "ConfigMap", names.pop())["data"].values()
    policy = yaml.safe_load(data)
    assert policy["version"] == "v1"
    return policy["volumePolicies"]


def matching_action(policies: list[dict[str, Any]], pvc_labels: dict[str, str], storage_class: str,
                    driver: str = DOBS_DRIVER) -> str | None:
    """The action Velero takes for a volume (the first policy whose conditions all match, as Velero reads them;
    on DOKS every volume, whatever its class, is one of DigitalOcean's block storage driver)."""
    for p in policies:
        conditions = p["conditions"]
        assert set(conditions) <= {"pvcLabels", "storageClass", "csi"}, f"a condition this model lacks: {conditions}"
        labels_ok = all(pvc_labels.get(k) == v for k, v in (conditions.get("pvcLabels") or {}).items())
        class_ok = storage_class in conditions.get("storageClass", [storage_class])
        driver_ok = (conditions.get("csi") or {}).get("driver", driver) == driver
        if labels_ok and class_ok and driver_ok:
            return str(p["action"]["type"])
    return None


def claim_templates(docs: list[Manifest]) -> dict[str, tuple[dict[str, str], str]]:
    """Volumes the release's StatefulSets claim: `<statefulset>/<template>` -> (the claims' labels, which the
    StatefulSet controller sets to the template's labels and its selector's, and the storage class)."""
    out: dict[str, tuple[dict[str, str], str]] = {}
    for s in find(docs, "StatefulSet"):
        for t in s["spec"].get("volumeClaimTemplates") or []:
            labels = {**(t["metadata"].get("labels") or {}), **s["spec"]["selector"].get("matchLabels", {})}
            out[f"{s['metadata']['name']}/{t['metadata']['name']}"] = (labels, t["spec"].get("storageClassName", ""))
    return out


# --- where and what ---------------------------------------------------------------------------------------------


@pytest.mark.upstream
def test_velero_runs_only_where_the_values_turn_it_on(release: list[Manifest], env_name: str) -> None:
    assert bool(find(release, "Deployment", "velero")) == (env_name in VELERO_ENVIRONMENTS)
    assert VELERO_ENVIRONMENTS == ["staging", "production"]


@pytest.mark.upstream
def test_each_schedule_of_the_values_is_rendered_with_its_retention(release: list[Manifest], env_name: str) -> None:
    wanted = velero_values(env_name).get("schedules") or {}
    rendered = {s["metadata"]["name"]: s["spec"] for s in find(release, "Schedule")}
    assert set(rendered) == {f"todo-chatbot-velero-{name}" for name in wanted}
    for name, schedule in wanted.items():
        spec = rendered[f"todo-chatbot-velero-{name}"]
        assert spec["schedule"] == schedule["schedule"]
        assert spec["template"]["ttl"] == schedule["template"]["ttl"]
        assert spec["template"]["includedNamespaces"] == list(envs.get(env_name).namespaces)


@pytest.mark.upstream
def test_production_keeps_backups_every_six_hours_for_days_and_daily_for_a_month(production: list[Manifest]) -> None:
    specs = {s["metadata"]["name"]: s["spec"] for s in find(production, "Schedule")}
    assert {n: (s["schedule"], s["template"]["ttl"]) for n, s in specs.items()} == {
        "todo-chatbot-velero-six-hourly": ("0 */6 * * *", "72h"), "todo-chatbot-velero-daily": ("30 3 * * *", "720h")}


@pytest.mark.upstream
def test_the_dapr_scheduler_volumes_are_snapshotted_and_every_other_volume_skipped(
        production: list[Manifest]) -> None:
    policies = volume_policy(production)
    volumes = claim_templates(production)
    volumes |= {f"PVC/{c['metadata']['name']}": (c["metadata"].get("labels") or {}, c["spec"]["storageClassName"])
                for c in find(production, "PersistentVolumeClaim")}
    kafka = get(production, "KafkaNodePool", "dual-role")["spec"]["storage"]
    volumes["KafkaNodePool/dual-role"] = ({"strimzi.io/pool-name": "dual-role"},
                                          next(v["class"] for v in kafka["volumes"]) if "volumes" in kafka
                                          else kafka["class"])
    for kind in ("Prometheus", "Alertmanager"):  # the operator claims their volumes with these labels
        for cr in find(production, kind):
            claim = ((cr["spec"].get("storage") or {}).get("volumeClaimTemplate") or {}).get("spec")
            if claim:
                volumes[f"{kind}/{cr['metadata']['name']}"] = ({"app.kubernetes.io/name": kind.lower()},
                                                              claim["storageClassName"])
    # every volume the cost report prices for this render is judged here, whatever the profile keeps
    priced = report.volumes(production, envs.get("production").namespace)
    assert len(volumes) == len(priced), (sorted(volumes), [(v["object"], v["claim"]) for v in priced])
    actions = {name: matching_action(policies, labels, cls) for name, (labels, cls) in volumes.items()}
    assert actions.pop("dapr-scheduler-server/dapr-scheduler-data-dir") == "snapshot"
    assert actions and set(actions.values()) == {"skip"}, actions


@pytest.mark.upstream
def test_the_schedules_snapshot_through_doks_volume_snapshot_class(production: list[Manifest]) -> None:
    for schedule in find(production, "Schedule"):
        assert schedule["spec"]["template"]["snapshotVolumes"] is True
        assert schedule["metadata"]["annotations"][f"velero.io/csi-volumesnapshot-class_{DOBS_DRIVER}"] == \
            "do-block-storage"
    server = next(c for c in containers(get(production, "Deployment", "velero")) if c["name"] == "velero")
    assert "--features=EnableCSI" in server["args"]


@pytest.mark.parametrize("env", VELERO_ENVIRONMENTS)
def test_the_storage_location_is_terraforms_backups_bucket(upstream_charts: deps.DepsStatus, env: str) -> None:
    del upstream_charts
    bucket = backups.bucket(env)
    assert bucket is not None
    [location] = find(render_environment(env), "BackupStorageLocation")
    spec = location["spec"]
    assert (spec["provider"], spec["objectStorage"]["bucket"], spec["default"]) == ("aws", bucket.name, True)
    assert (spec["config"]["region"], spec["config"]["s3Url"]) == (bucket.region, bucket.endpoint)


@pytest.mark.parametrize("env", VELERO_ENVIRONMENTS)
def test_the_spaces_key_comes_from_an_existing_secret_the_deploy_asks_for(upstream_charts: deps.DepsStatus,
                                                                          env: str) -> None:
    del upstream_charts
    docs = render_environment(env)
    secret = velero_values(env)["credentials"]["existingSecret"]
    volumes = get(docs, "Deployment", "velero")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "cloud-credentials", "secret": {"secretName": secret}} in volumes
    assert not [s for s in find(docs, "Secret") if s["metadata"]["name"].startswith("todo-chatbot-velero")]
    e = envs.get(env)
    assert secret in {r.ref.name for r in release_secrets(docs, e.namespace, [e.values_file])}


@pytest.mark.upstream
def test_the_server_is_the_charts_app_version_and_the_plugin_the_pinned_one(production: list[Manifest]) -> None:
    pod = get(production, "Deployment", "velero")
    images = {c["name"]: split_image(c["image"]) for c in containers(pod)}
    assert images["velero"]["tag"] == f"v{chart_app_version()}"
    assert images["velero-plugin-for-aws"]["tag"] == gobuild.pin("velero-plugin-for-aws").version


@pytest.mark.upstream
def test_the_velero_monitor_selects_its_service_and_port(production: list[Manifest]) -> None:
    spec = get(production, "ServiceMonitor", "todo-chatbot-velero")["spec"]
    wanted = spec["selector"]["matchLabels"].items()
    selected = [s for s in find(production, "Service")
                if all((s["metadata"].get("labels") or {}).get(k) == v for k, v in wanted)]
    assert [s["metadata"]["name"] for s in selected] == ["todo-chatbot-velero"]
    assert [e["port"] for e in spec["endpoints"]] == ["http-monitoring"]
    assert "http-monitoring" in {p["name"] for p in selected[0]["spec"]["ports"]}


@pytest.mark.upstream
def test_the_backup_alerts_ship_with_the_release(production: list[Manifest]) -> None:
    rules = get(production, "PrometheusRule", "todo-chatbot-velero")["spec"]["groups"][0]["rules"]
    assert {r["alert"]: r["labels"]["severity"] for r in rules} == {
        "VeleroBackupFailed": "critical", "VeleroBackupNotRun": "critical",
        "VeleroBackupLocationUnavailable": "warning", "VeleroDown": "warning"}


def test_with_the_backup_part_off_the_platform_renders_no_velero_policy_or_monitor() -> None:
    docs = render_subchart("platform", "production", {"backup": {"enabled": False}})
    assert not find(docs, "NetworkPolicy", "backup-velero") and not find(docs, "ServiceMonitor", "todo-chatbot-velero")
    on = render_subchart("platform", "production")
    assert find(on, "NetworkPolicy", "backup-velero") and find(on, "ServiceMonitor", "todo-chatbot-velero")


# --- the versions the restore drill builds -------------------------------------------------------------------------


def chart_app_version() -> str:
    """appVersion of the pinned Velero chart archive in the umbrella's charts/."""
    pin = versions.load()["charts"]["velero"]
    with tarfile.open(UMBRELLA / "charts" / f"velero-{pin['version']}.tgz") as tgz:
        member = tgz.extractfile("velero/Chart.yaml")
        assert member is not None
        return str(yaml.safe_load(member.read())["appVersion"])


def test_the_drills_velero_is_the_charts_app_version(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    assert gobuild.pin("velero").version == f"v{chart_app_version()}"


def test_the_drills_aws_plugin_is_the_release_built_for_that_velero(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    plugin = versions.load()["go_tools"]["velero-plugin-for-aws"]
    source = gobuild.module_dir(plugin["go_module"], plugin["version"])
    assert gobuild.required_version(source / "go.mod", gobuild.pin("velero").module) == f"v{chart_app_version()}"


def test_the_plugin_image_of_the_values_is_the_drills_plugin() -> None:
    assert velero_values("production")["pluginImage"]["tag"] == gobuild.pin("velero-plugin-for-aws").version
