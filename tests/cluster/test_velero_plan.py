"""The restore drill's harness without a cluster: what the Velero servers start with is read off the rendered release
(todo_cloud.runtime.velero.plan), and the S3 server is a real one that authenticates (todo_cloud.runtime.s3)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from todo_cloud import deps, gobuild
from todo_cloud.processes import Supervisor
from todo_cloud.render import Manifest, find, get, render_environment
from todo_cloud.runtime import s3, velero

NAMESPACE = "velero-drill"


@pytest.fixture(scope="module")
def production(upstream_charts: deps.DepsStatus) -> list[Manifest]:
    del upstream_charts
    return render_environment("production")


def store(tmp_path: Path, region: str = "nyc3") -> s3.ObjectStore:
    return s3.ObjectStore("http://127.0.0.1:9", region, s3.Credentials("AKIA", "secret"), tmp_path, tmp_path / "log")


def a_plan(rendered: list[Manifest], tmp_path: Path, region: str = "nyc3") -> velero.Plan:
    return velero.plan(rendered, store(tmp_path, region), kubeconfig=tmp_path / "kubeconfig", namespace=NAMESPACE,
                       schedule="daily", plugin_dir=tmp_path / "plugins", metrics_port=8085, profiler_port=6060)


def test_the_server_runs_with_the_releases_arguments_and_the_runs_own(production: list[Manifest],
                                                                        tmp_path: Path) -> None:
    args = a_plan(production, tmp_path).args
    rendered = velero.server_args(production)
    assert rendered[0] == "server" and "--features=EnableCSI" in rendered
    assert list(args[:len(rendered)]) == rendered
    assert {f"--kubeconfig={tmp_path / 'kubeconfig'}", f"--namespace={NAMESPACE}",
            f"--plugin-dir={tmp_path / 'plugins'}", "--metrics-address=127.0.0.1:8085",
            "--profiler-address=127.0.0.1:6060"} <= set(args)


def test_the_storage_location_points_at_the_run_and_keeps_everything_else(production: list[Manifest],
                                                                             tmp_path: Path) -> None:
    the_plan = a_plan(production, tmp_path)
    rendered = get(production, "BackupStorageLocation", "spaces")
    [location] = [o for o in the_plan.objects if o["kind"] == "BackupStorageLocation"]
    assert location["metadata"] == {"name": "spaces", "namespace": NAMESPACE}
    assert location["spec"]["objectStorage"] == rendered["spec"]["objectStorage"]
    assert location["spec"]["config"] == {**rendered["spec"]["config"], "s3Url": "http://127.0.0.1:9",
                                          "s3ForcePathStyle": "true"}
    assert (the_plan.bucket, the_plan.prefix) == ("todo-chatbot-production-backups", "velero")


def test_the_schedule_and_its_volume_policy_move_to_the_runs_namespace(production: list[Manifest],
                                                                         tmp_path: Path) -> None:
    the_plan = a_plan(production, tmp_path)
    schedule = next(o for o in the_plan.objects if o["kind"] == "Schedule")
    assert schedule["spec"] == get(production, "Schedule", "todo-chatbot-velero-daily")["spec"]
    assert (schedule["metadata"]["namespace"], the_plan.schedule) == (NAMESPACE, "todo-chatbot-velero-daily")
    policy = next(o for o in the_plan.objects if o["kind"] == "ConfigMap")
    assert policy["metadata"]["name"] == schedule["spec"]["template"]["resourcePolicy"]["name"]
    assert policy["metadata"]["namespace"] == NAMESPACE


def test_the_servers_deployment_is_there_for_velero_to_read_and_runs_nothing(production: list[Manifest],
                                                                             tmp_path: Path) -> None:
    [deployment] = [o for o in a_plan(production, tmp_path).objects if o["kind"] == "Deployment"]
    rendered = get(production, "Deployment", "velero")
    assert (deployment["metadata"]["namespace"], deployment["spec"]["replicas"]) == (NAMESPACE, 0)
    assert deployment["spec"]["template"] == rendered["spec"]["template"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["name"] == "velero"


def test_velero_crds_come_from_the_pinned_chart(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    text = velero.crd_documents()
    assert "# Source: velero-12.1.0.tgz!velero/crds/backupstoragelocations.yaml" in text
    assert text.count("kind: CustomResourceDefinition") == 13


def test_a_release_without_velero_is_refused_naming_what_is_missing(upstream_charts: deps.DepsStatus,
                                                                      tmp_path: Path) -> None:
    del upstream_charts
    local = render_environment("local")
    assert not find(local, "BackupStorageLocation")
    with pytest.raises(velero.PlanError, match=r"0 default BackupStorageLocation.*velero\.enabled"):
        a_plan(local, tmp_path)


def test_a_store_in_another_region_is_refused(production: list[Manifest], tmp_path: Path) -> None:
    with pytest.raises(velero.PlanError, match="region 'nyc3', but the object store serves 'ams3'"):
        a_plan(production, tmp_path, region="ams3")


def test_the_s3_server_creates_buckets_for_its_key_and_refuses_other_keys(
        tmp_path: Path, prerequisite: Callable[[str], Path]) -> None:
    with Supervisor(tmp_path / "processes") as sup:
        real = s3.start(sup, prerequisite("versitygw"), tmp_path / "s3", "nyc3")
        real.create_bucket("todo-chatbot-drill-backups")
        assert (real.root / "todo-chatbot-drill-backups").is_dir()
        forged = s3.ObjectStore(real.endpoint, real.region, s3.Credentials(real.credentials.access_key, "wrong"),
                                real.root, real.log)
        with pytest.raises(s3.S3Error, match="HTTP 403"):
            forged.create_bucket("todo-chatbot-other-backups")
        assert not (real.root / "todo-chatbot-other-backups").exists()


def test_the_drills_velero_reports_the_charts_app_version(prerequisite: Callable[[str], Path],
                                                         tmp_path: Path) -> None:
    out = velero.cli(prerequisite("velero"), tmp_path / "kubeconfig", NAMESPACE, "version", "--client-only",
                     home=tmp_path).stdout
    assert f"Version: {gobuild.pin('velero').version}" in out, out
