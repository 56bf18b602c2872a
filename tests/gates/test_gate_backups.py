"""`todo-cloud validate`, backups (todo_cloud.gates.backups): each environment's Velero schedules, retention and
bucket as the umbrella's values give them. Every bad input is refused with the file, the rule and the key; the
bucket the settings must name is Terraform's (its tfvars), never restated here."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

import pytest

from todo_cloud import cluster_shape, envs
from todo_cloud.gates import backups, data
from todo_cloud.observability import rules
from todo_cloud.render import subchart_values

Edit = Callable[[dict[str, Any]], None]


@cache
def _merged(env: str) -> dict[str, Any]:
    return subchart_values("velero", env)


def production() -> dict[str, Any]:
    """The umbrella's `velero:` values as production merges them (a copy to edit)."""
    return copy.deepcopy(_merged("production"))


def findings(velero: dict[str, Any], *, platform_backup: bool = True, env: str = "production") -> list[str]:
    """`<rule> <message>` of each finding on `velero` in `env` (its namespaces and bucket)."""
    e = envs.get(env)
    got = backups.check(velero, platform_backup=platform_backup, release=e.release, namespaces=list(e.namespaces),
                        target=backups.bucket(env), where=f"values/{env}.yaml")
    assert all(f.where == f"values/{env}.yaml" and f.gate == "values" for f in got)
    return [f"{f.rule} {f.message}" for f in got]


def daily(values: dict[str, Any]) -> dict[str, Any]:
    return values["schedules"]["daily"]


def location(values: dict[str, Any]) -> dict[str, Any]:
    return values["configuration"]["backupStorageLocation"][0]


# --- what the repository holds ------------------------------------------------------------------------------


@pytest.mark.parametrize("env", envs.names())
def test_every_environment_passes(env: str) -> None:
    assert backups.check_environment(env) == []


def test_staging_and_production_back_up_and_local_does_not() -> None:
    assert {e: bool(_merged(e).get("enabled")) for e in envs.names()} == {
        "local": False, "staging": True, "production": True}


@pytest.mark.parametrize("env", ["staging", "production"])
def test_the_bucket_is_terraforms_backups_bucket(env: str) -> None:
    tf = cluster_shape.tfvars(env)
    bucket = backups.bucket(env)
    assert bucket is not None
    assert bucket.name == f"{tf['spaces_bucket_prefix']}-backups"
    assert bucket.endpoint == f"https://{tf['region']}.digitaloceanspaces.com"
    assert bucket.keeps == timedelta(days=tf["backup_retention_days"])
    assert location(_merged(env))["bucket"] == bucket.name


def test_the_values_gate_runs_the_backup_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    moved = backups.Bucket("todo-chatbot-moved-backups", "ams3", "https://ams3.digitaloceanspaces.com",
                           timedelta(days=30))
    monkeypatch.setattr(backups, "bucket", lambda env: None if env == "local" else moved)
    got = [f for f in data.check_data() if f.rule == "backup-bucket"]
    assert {f.where for f in got} == {"values/staging.yaml", "values/production.yaml"}
    assert any("velero.configuration.backupStorageLocation[0].bucket:" in f.message for f in got)


# --- bad input, each refused naming its key -------------------------------------------------------------------


def _set(path: str, value: Any) -> Edit:
    """An edit setting `path` (dots; `[0]` indexes a list; `-` deletes the key) of the values."""
    def edit(values: dict[str, Any]) -> None:
        *parents, last = path.replace("[0]", ".0").split(".")
        node: Any = values
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value == "-":
            del node[last]
        else:
            node[last] = value
    return edit


BAD: dict[str, tuple[Edit, str, str]] = {
    # a schedule that would back up nothing
    "no-namespaces": (_set("schedules.daily.template.includedNamespaces", []), "backup-schedule",
                      "velero.schedules.daily.template.includedNamespaces: empty"),
    "include-missing": (_set("schedules.daily.template.includedNamespaces", "-"), "backup-schedule",
                        "velero.schedules.daily.template.includedNamespaces: empty"),
    "namespace-elsewhere": (_set("schedules.daily.template.includedNamespaces", ["todo-chatbot-staging"]),
                            "backup-schedule", "velero.schedules.daily.template.includedNamespaces: "
                            "todo-chatbot-staging: not a namespace of the environment"),
    "all-excluded": (_set("schedules.daily.template.excludedNamespaces", ["todo-chatbot", "todo-chatbot-node"]),
                     "backup-schedule", "velero.schedules.daily.template.excludedNamespaces: excludes every"),
    "every-resource-excluded": (_set("schedules.daily.template.excludedResources", ["*"]), "backup-schedule",
                                "velero.schedules.daily.template.excludedResources: '*' excludes every resource"),
    "paused": (_set("schedules.daily.paused", True), "backup-schedule", "velero.schedules.daily.paused: true"),
    "no-schedule": (_set("schedules", {}), "backup-schedule", "velero.schedules: no schedule"),
    # retention and interval
    "ttl-shorter-than-interval": (_set("schedules.daily.template.ttl", "12h"), "backup-retention",
                                  "velero.schedules.daily.template.ttl: 12h is shorter than the 24h between"),
    "ttl-longer-than-the-bucket-keeps": (_set("schedules.daily.template.ttl", "1440h"), "backup-retention",
                                         "velero.schedules.daily.template.ttl: 1440h is longer than the bucket"),
    "ttl-missing": (_set("schedules.daily.template.ttl", "-"), "backup-retention",
                    "velero.schedules.daily.template.ttl: missing"),
    "ttl-not-a-duration": (_set("schedules.daily.template.ttl", "30 days"), "backup-retention",
                           "velero.schedules.daily.template.ttl: '30 days' is not a duration"),
    "weekly": (_set("schedules.daily.schedule", "30 3 * * 0"), "backup-schedule",
               "velero.schedules.daily.schedule: '30 3 * * 0' waits up to 168h (7 days) between runs"),
    # malformed cron
    "cron-minute-61": (_set("schedules.daily.schedule", "61 3 * * *"), "backup-schedule",
                       "velero.schedules.daily.schedule: '61 3 * * *' is not a schedule Velero runs: minute '61'"),
    "cron-four-fields": (_set("schedules.daily.schedule", "30 3 * *"), "backup-schedule",
                         "velero.schedules.daily.schedule: '30 3 * *' is not a schedule Velero runs: 4 fields"),
    "cron-words": (_set("schedules.daily.schedule", "every day"), "backup-schedule",
                   "velero.schedules.daily.schedule: 'every day' is not a schedule Velero runs"),
    "cron-never": (_set("schedules.daily.schedule", "0 0 31 2 *"), "backup-schedule",
                   "velero.schedules.daily.schedule: '0 0 31 2 *' is not a schedule Velero runs: it never runs"),
    "cron-missing": (_set("schedules.daily.schedule", "-"), "backup-schedule",
                     "velero.schedules.daily.schedule: missing"),
    "unknown-location": (_set("schedules.daily.template.storageLocation", "aws"), "backup-schedule",
                         "velero.schedules.daily.template.storageLocation: 'aws' is not a storage location"),
    "unknown-policy": (_set("schedules.daily.template.resourcePolicy.name", "volume-policy"), "backup-schedule",
                       "velero.schedules.daily.template.resourcePolicy:"),
    # bucket settings
    "bucket-missing": (_set("configuration.backupStorageLocation[0].bucket", ""), "backup-bucket",
                       "velero.configuration.backupStorageLocation[0].bucket: missing; the environment's is "
                       "'todo-chatbot-production-backups'"),
    "bucket-of-another-environment": (_set("configuration.backupStorageLocation[0].bucket",
                                           "todo-chatbot-staging-backups"), "backup-bucket",
                                      "velero.configuration.backupStorageLocation[0].bucket: is "
                                      "'todo-chatbot-staging-backups'"),
    "region-missing": (_set("configuration.backupStorageLocation[0].config.region", "-"), "backup-bucket",
                       "velero.configuration.backupStorageLocation[0].config.region: missing"),
    "endpoint-of-another-region": (_set("configuration.backupStorageLocation[0].config.s3Url",
                                        "https://ams3.digitaloceanspaces.com"), "backup-bucket",
                                   "velero.configuration.backupStorageLocation[0].config.s3Url: is "
                                   "'https://ams3.digitaloceanspaces.com'"),
    "no-location": (_set("configuration.backupStorageLocation", []), "backup-bucket",
                    "velero.configuration.backupStorageLocation: no storage location"),
    "no-default-location": (_set("configuration.backupStorageLocation[0].default", False), "backup-bucket",
                            "velero.configuration.backupStorageLocation: 0 locations are `default: true`"),
    "not-s3": (_set("configuration.backupStorageLocation[0].provider", "gcp"), "backup-bucket",
               "velero.configuration.backupStorageLocation[0].provider: is 'gcp'"),
    "secret-missing": (_set("credentials.existingSecret", ""), "backup-bucket",
                       "velero.credentials.existingSecret: missing"),
    "key-in-values": (_set("credentials.secretContents", {"cloud": "[default]\naws_access_key_id=x\n"}),
                      "backup-bucket", "velero.credentials.secretContents: a key in values"),
    # the switch
    "platform-part-off": (_set("enabled", True), "backup-switch", "platform.backup.enabled: is False"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_backup_settings_are_refused_naming_the_key(case: str) -> None:
    edit, rule, message = BAD[case]
    values = production()
    edit(values)
    got = findings(values, platform_backup=case != "platform-part-off")
    assert len(got) == 1 and got[0].startswith(f"{rule} {message}"), got


def test_velero_where_the_environment_has_no_bucket_is_refused() -> None:
    local = copy.deepcopy(_merged("local"))
    local["enabled"] = True
    assert findings(local, env="local") == [
        "backup-switch velero.enabled: Velero needs a Spaces backups bucket, and the environment has none "
        "(its tfvars does not exist)"]


def test_a_disabled_schedule_is_not_checked() -> None:
    values = production()
    values["schedules"]["old"] = {"disabled": True, "schedule": "garbage"}
    assert findings(values) == []


def test_a_retention_equal_to_the_interval_is_enough() -> None:
    values = production()
    daily(values)["template"]["ttl"] = "24h"
    assert findings(values) == []


# --- the cron reader ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cron", "gap"), [
    ("0 3 * * *", timedelta(days=1)),
    ("0 */6 * * *", timedelta(hours=6)),
    ("*/5 * * * *", timedelta(minutes=5)),
    ("0 9,17 * * *", timedelta(hours=16)),
    ("0 0 * * MON-FRI", timedelta(days=3)),
    ("0 0 1,15 * MON", timedelta(days=7)),  # day of month OR day of week, as cron reads both restricted
    ("0 0 29 2 *", timedelta(days=4 * 365 + 1)),
    ("@daily", timedelta(days=1)),
    ("@every 90m", timedelta(minutes=90)),
])
def test_the_longest_gap_between_two_runs(cron: str, gap: timedelta) -> None:
    assert backups.cron_gap(cron) == gap


@pytest.mark.parametrize(("text", "span"), [("720h", timedelta(days=30)), ("168h0m0s", timedelta(days=7)),
                                            ("1h30m", timedelta(minutes=90)), ("0.5h", timedelta(minutes=30))])
def test_go_durations(text: str, span: timedelta) -> None:
    assert backups.parse_duration(text) == span


@pytest.mark.parametrize("text", ["", "30d", "720", "h", "7 days"])
def test_what_is_not_a_go_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        backups.parse_duration(text)


def test_the_not_run_alert_waits_the_longest_interval_a_schedule_may_have_plus_an_hour() -> None:
    [rule] = [r for g in rules.rule_groups().values() for r in g if r.get("alert") == "VeleroBackupNotRun"]
    hours = re.search(r"> (\d+) \* 3600", rule["expr"])
    assert hours, rule["expr"]
    assert timedelta(hours=int(hours.group(1))) == backups.MAX_INTERVAL + timedelta(hours=1)
