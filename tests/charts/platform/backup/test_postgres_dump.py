"""The PostgreSQL dump job of charts/platform (`postgresDump`), per environment: a CronJob that renders where its
values switch it on, whose bucket, endpoint and retention agree with their owners (Terraform's backups bucket and
its expiry), whose credentials are Secret files only, whose pods meet Pod Security "restricted" with a read-only
root filesystem, whose images are the pinned versions; and bad schedules, retentions and buckets refused, naming
the key. What the containers run is drilled in tests/runtime/test_postgres_dump_drill.py."""

from __future__ import annotations

from typing import Any

import pytest

from todo_cloud import cluster_shape, envs, versions, yamlfile
from todo_cloud.manifests import containers, pod_spec
from todo_cloud.observability import rules
from todo_cloud.paths import CHARTS
from todo_cloud.render import Manifest, RenderError, deep_merge, find, get, render_subchart, subchart_values

NAME = "todo-chatbot-postgres-dump"
DOKS = [e for e in envs.names() if e not in cluster_shape.KIND_ENVIRONMENTS]


def dump_values(env: str) -> dict[str, Any]:
    """postgresDump as the platform chart gets it in `env` (its defaults under the umbrella and the env file)."""
    defaults = yamlfile.load(CHARTS / "platform" / "values.yaml")
    return deep_merge(defaults, subchart_values("platform", env))["postgresDump"]


@pytest.fixture(scope="module", params=envs.names())
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    return request.param, render_subchart("platform", request.param)


def cronjob(env: str, overrides: dict | None = None) -> Manifest:
    return get(render_subchart("platform", env, overrides), "CronJob", NAME)


def script(job: Manifest, name: str) -> str:
    return next(c for c in containers(job) if c["name"] == name)["args"][-1]


def test_the_dump_job_renders_exactly_where_its_values_switch_it_on(rendered: tuple[str, list[Manifest]]) -> None:
    env, docs = rendered
    objects = {(d["kind"], d["metadata"]["name"]) for d in docs}
    wanted = {("CronJob", NAME), ("ServiceAccount", NAME), ("NetworkPolicy", "backup-postgres-dump")}
    assert (wanted <= objects) is dump_values(env)["enabled"]
    assert not (wanted & objects) or dump_values(env)["enabled"]


def test_the_dump_job_is_off_in_local_and_on_in_the_doks_environments() -> None:
    assert {e: dump_values(e)["enabled"] for e in envs.names()} == {
        e: e not in cluster_shape.KIND_ENVIRONMENTS for e in envs.names()}


@pytest.mark.parametrize("env", DOKS)
def test_schedule_and_retention_are_the_values(env: str) -> None:
    values, job = dump_values(env), cronjob(env)
    assert job["spec"]["schedule"] == values["schedule"]
    assert job["spec"]["timeZone"] == "Etc/UTC"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    target = f"'spaces:{values['bucket']}/{values['prefix']}'"
    assert f"rclone delete {target} --include '*.dump' --min-age '{values['retention']}'" in script(job, "upload")


@pytest.mark.parametrize("env", DOKS)
def test_the_bucket_and_endpoint_are_terraforms_backups_bucket(env: str) -> None:
    tfvars, values = cluster_shape.tfvars(env), dump_values(env)
    assert values["bucket"] == f"{tfvars['spaces_bucket_prefix']}-backups"
    upload = {e["name"]: e["value"] for e in next(c for c in containers(cronjob(env)) if c["name"] == "upload")["env"]}
    assert upload["RCLONE_CONFIG_SPACES_ENDPOINT"] == f"https://{tfvars['region']}.digitaloceanspaces.com"
    assert upload["RCLONE_CONFIG_SPACES_REGION"] == tfvars["region"]


@pytest.mark.parametrize("env", DOKS)
def test_the_retention_ends_before_the_bucket_expires_the_dumps(env: str) -> None:
    retention = dump_values(env)["retention"]
    days = int(retention[:-1]) / (1 if retention.endswith("d") else 24)
    assert days <= int(cluster_shape.tfvars(env)["backup_retention_days"]), (
        f"{env}: postgresDump.retention {retention} outlives terraform backup_retention_days")


@pytest.mark.parametrize("env", DOKS)
def test_credentials_reach_the_containers_as_secret_files_only(env: str) -> None:
    values, job = dump_values(env), cronjob(env)
    for container in containers(job):
        assert all("value" in e and "valueFrom" not in e for e in container["env"]), container["name"]
        assert "envFrom" not in container
        files = {e["name"]: e["value"] for e in container["env"] if e["name"].endswith("_FILE")}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert all(path.startswith("/var/run/secrets/todo-chatbot/") for path in files.values())
        assert mounts.get({"dump": "database", "upload": "credentials"}[container["name"]]) == (
            "/var/run/secrets/todo-chatbot")
    volumes = {v["name"]: v for v in pod_spec(job)["volumes"]}
    assert volumes["database"]["secret"] == {
        "secretName": values["database"]["secretName"], "defaultMode": 0o440,
        "items": [{"key": values["database"]["secretKey"], "path": "DATABASE_URL"}]}
    creds = values["credentials"]
    assert volumes["credentials"]["secret"] == {
        "secretName": creds["secretName"], "defaultMode": 0o440,
        "items": [{"key": creds["accessKeyIdKey"], "path": "SPACES_ACCESS_KEY_ID"},
                  {"key": creds["secretAccessKeyKey"], "path": "SPACES_SECRET_ACCESS_KEY"}]}


@pytest.mark.parametrize("env", DOKS)
def test_pods_meet_pod_security_restricted_with_a_read_only_root(env: str) -> None:
    job = cronjob(env)
    spec = pod_spec(job)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"
    for container in containers(job):
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}, container["name"]
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}, container["name"]
        writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
        assert writable <= {"/dump", "/tmp"}, container["name"]


@pytest.mark.parametrize("env", DOKS)
def test_the_service_account_mounts_no_token(env: str) -> None:
    account = get(render_subchart("platform", env), "ServiceAccount", NAME)
    assert account["automountServiceAccountToken"] is False


def test_the_upload_image_is_the_rclone_the_drill_builds() -> None:
    image = dump_values("production")["images"]["upload"]
    assert image["repository"] == "docker.io/rclone/rclone"
    assert "v" + image["tag"] == versions.load()["go_builds"]["rclone"]["version"]


@pytest.mark.parametrize("env", DOKS)
def test_pg_dump_is_no_older_than_the_database(env: str) -> None:
    image = dump_values(env)["images"]["dump"]
    database = cluster_shape.tfvars(env).get("database_version", "17")
    assert image["repository"] == "docker.io/library/postgres"
    assert int(image["tag"].split(".")[0]) >= int(database), "pg_dump refuses a server newer than itself"


def test_production_runs_the_dump_images_by_digest() -> None:
    images = [c["image"] for c in containers(cronjob("production"))]
    assert len(images) == 2 and all("@sha256:" in i for i in images), images


# --- the schedule's longest gap, and bad input ------------------------------------------------------------------

@pytest.mark.parametrize(("schedule", "gap"), [
    ("30 2 * * *", "1d"), ("@hourly", "1h"), ("0 */6 * * *", "6h"), ("15,45 9-17 * * MON-FRI", "3810m"),
    ("0 3 * * 0,3", "4d"), ("@weekly", "7d"), ("0 3 1,15 * *", "17d"), ("@monthly", "31d"),
    ("0 3 1 * MON", "7d"), ("0 3 */2 * *", "2d"), ("0 0 29 2 *", "1461d"),
])
def test_the_longest_gap_between_two_runs_is_read_off_the_schedule(schedule: str, gap: str) -> None:
    job = cronjob("production", {"postgresDump": {"schedule": schedule, "retention": "5000d"}})
    assert job["metadata"]["annotations"]["backup.todo-chatbot.io/longest-gap"] == gap


# (overrides of postgresDump, text the error must contain: the key it names)
BAD = {
    "malformed schedule": ({"schedule": "30 2 * *"}, 'postgresDump.schedule: "30 2 * *" is not a cron schedule'),
    "minute out of range": ({"schedule": "61 2 * * *"},
                            'postgresDump.schedule: "61 2 * * *" is not a cron schedule: its minute field "61"'),
    "unknown day name": ({"schedule": "0 2 * * SUNDAY"}, "its day-of-week field \"SUNDAY\""),
    "schedule that never runs": ({"schedule": "0 2 30 2 *"}, 'postgresDump.schedule: "0 2 30 2 *" never runs'),
    "retention shorter than the interval": (
        {"schedule": "@weekly", "retention": "3d"},
        'postgresDump.retention: 3d is shorter than the 7d between two runs of postgresDump.schedule "@weekly"'),
    "retention that is not a duration": ({"retention": "two weeks"}, "postgresDump/retention"),
    "missing bucket": ({"bucket": ""}, "postgresDump.bucket: no bucket to write the dumps to"),
    "bucket name that Spaces refuses": ({"bucket": "Backups_Prod"}, "postgresDump/bucket"),
    "credential given as text": ({"credentials": {"secretName": "x", "accessKeyIdKey": "a",
                                                  "secretAccessKeyKey": "b", "secret": "hunter2"}},
                                 "postgresDump/credentials"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_dump_settings_fail_the_render_naming_the_key(case: str) -> None:
    overrides, message = BAD[case]
    with pytest.raises(RenderError) as failure:
        render_subchart("platform", "production", {"postgresDump": overrides})
    assert message in str(failure.value)


def test_a_switched_off_dump_job_checks_nothing() -> None:
    docs = render_subchart("platform", "production", {"postgresDump": {"enabled": False, "bucket": ""}})
    assert not find(docs, "CronJob")


# --- the alerts on it -------------------------------------------------------------------------------------------

def test_the_backup_alerts_watch_the_rendered_cronjob() -> None:
    job = cronjob("production")
    alerts = {r["alert"]: r for r in rules.rule_groups()["backup"] if "alert" in r}
    assert set(alerts) == {"PostgresDumpFailed", "PostgresDumpMissed"}
    selector = f'namespace="{envs.get("production").namespace}",cronjob="{job["metadata"]["name"]}"'
    for name, rule in alerts.items():
        assert selector in rule["expr"], name
        assert rule["labels"]["severity"] == "critical", f"{name}: a dump that did not run or failed pages"
