"""The backup settings of each environment (`todo-cloud validate`, values gate): Velero's values in the umbrella
(`velero:`), which belong to the upstream chart, whose values.schema.json checks almost none of them (any object
is a schedule), so they are checked here, each finding naming the file and the key.

- backup-switch: velero.enabled and platform.backup.enabled agree (the platform chart's part gives Velero its
  NetworkPolicy and monitor); Velero runs only where the environment has a Spaces bucket (Terraform's tfvars).
- backup-bucket: the storage location is the environment's Spaces backups bucket as Terraform names it
  (`<spaces_bucket_prefix>-backups`, in its `region`, behind `https://<region>.digitaloceanspaces.com`), the
  default one, read with the key of an existing Secret (never a key in values).
- backup-schedule: at least one schedule; each a well-formed cron (5 fields, or a descriptor: what Velero's
  parser takes), not paused, backing up something: a non-empty `includedNamespaces` (Velero reads an empty list
  as every namespace) naming namespaces of the environment that its `excludedNamespaces` leave in; its
  `storageLocation` and `resourcePolicy` name a location and a ConfigMap of the values; it runs at least every
  MAX_INTERVAL, which the VeleroBackupNotRun alert assumes.
- backup-retention: each schedule's `ttl` is a duration no shorter than the longest gap between two of its runs
  (else there are hours with no backup of it) and no longer than the bucket's lifecycle keeps objects
  (`backup_retention_days`: Spaces would delete the files of backups Velero still lists).

The bucket's facts come from terraform/environments/<env>.tfvars through todo_cloud.cluster_shape, their owner.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import pairwise
from typing import Any

from todo_cloud import cluster_shape, envs, yamlfile
from todo_cloud.gates import Finding
from todo_cloud.paths import CHARTS
from todo_cloud.render import deep_merge, subchart_values

GATE = "values"
# The longest a schedule may wait between two runs: VeleroBackupNotRun (config/observability/alerts.yaml) pages
# when a schedule's last successful backup is older than this plus an hour.
MAX_INTERVAL = timedelta(hours=24)
# Velero's name of a storage location or ConfigMap given without a name.
DEFAULT_LOCATION = "default"
# Where DigitalOcean Spaces serves a region's buckets.
SPACES_ENDPOINT = "https://{region}.digitaloceanspaces.com"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


class CronError(ValueError):
    """A schedule Velero's cron parser would refuse; the message says which field and why."""


# --- cron and durations ---------------------------------------------------------------------------------------

# (name, lowest, highest, names) of the five fields of a standard cron expression, as robfig/cron reads them.
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}),
           ("day of week", 0, 6, {d.lower(): (i + 1) % 7 for i, d in enumerate(calendar.day_abbr)}))
_DESCRIPTORS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
                "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}


def _cron_field(text: str, name: str, low: int, high: int, names: Mapping[str, int]) -> tuple[set[int], bool]:
    """The values one field selects, and whether it is unrestricted (`*` or `?`)."""
    def number(part: str) -> int:
        value = names.get(part.lower()) if part.lower() in names else int(part) if part.isdigit() else None
        if value is None or not low <= value <= high:
            raise CronError(f"{name} {part!r} is not a number from {low} to {high}")
        return value

    chosen: set[int] = set()
    for item in text.split(","):
        body, _, step_text = item.partition("/")
        if step_text and (not step_text.isdigit() or int(step_text) == 0):
            raise CronError(f"{name} step {step_text!r} is not a positive number")
        step = int(step_text) if step_text else 1
        if body in ("*", "?"):
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = number(a), number(b)
            if first > last:
                raise CronError(f"{name} range {body!r} runs backwards")
        else:
            first = number(body)
            last = high if step_text else first
        chosen.update(range(first, last + 1, step))
    return chosen, text in ("*", "?")


def cron_gap(expression: str) -> timedelta:
    """The longest time between two consecutive runs of a cron schedule (5 fields or a descriptor, in UTC);
    CronError when Velero would refuse it or when it never runs twice."""
    text = expression.strip()
    if text.startswith("@every "):
        return parse_duration(text.removeprefix("@every ").strip())
    text = _DESCRIPTORS.get(text, text)
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"{len(fields)} fields; a schedule has 5 (minute hour day-of-month month day-of-week) "
                        f"or is a descriptor ({', '.join(sorted(_DESCRIPTORS))}, @every <duration>)")
    (minutes, _), (hours, _), (days, any_day), (months, _), (weekdays, any_weekday) = (
        _cron_field(f, *spec) for f, spec in zip(fields, _FIELDS, strict=True))
    times = sorted(h * 60 + m for h in hours for m in minutes)
    gap = max((b - a for a, b in pairwise(times)), default=0)
    # Day of month and day of week both restricted: either one matches (cron's rule); over eight years, so that
    # every weekday falls on every date and leap days count.
    previous: date | None = None
    day, end = date(2024, 1, 1), date(2032, 1, 1)
    while day < end:
        by_date, by_weekday = day.day in days, (day.isoweekday() % 7) in weekdays
        match = (by_date and by_weekday) if any_day or any_weekday else (by_date or by_weekday)
        if match and day.month in months:
            if previous is not None:
                gap = max(gap, (day - previous).days * 1440 + times[0] - times[-1])
            previous = day
        day += timedelta(days=1)
    if previous is None:
        raise CronError("it never runs (no date matches its day of month, month and day of week)")
    if gap == 0:
        raise CronError("it runs only once in eight years")
    return timedelta(minutes=gap)


def parse_duration(text: str) -> timedelta:
    """A Go duration (Velero's ttl: 720h, 168h0m0s, 90m); ValueError when it is not one."""
    if not isinstance(text, str) or not text or _DURATION.sub("", text) != "":
        raise ValueError(f"{text!r} is not a duration (a number and a unit, as 720h or 168h0m0s)")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text)))


def _human(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g}h" + (f" ({hours / 24:g} days)" if hours >= 48 else "")


# --- the environment's bucket -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    """The Spaces backups bucket of an environment as Terraform creates it (terraform/spaces.tf)."""

    name: str
    region: str
    endpoint: str
    # How long the bucket's lifecycle rule keeps an object (expiration days).
    keeps: timedelta


@cache
def bucket(env: str) -> Bucket | None:
    """The environment's backups bucket from its tfvars (read once); None where it has none (kind)."""
    try:
        tf = cluster_shape.tfvars(env)
    except FileNotFoundError:
        return None
    region = str(tf["region"])
    return Bucket(f"{tf['spaces_bucket_prefix']}-backups", region, SPACES_ENDPOINT.format(region=region),
                  timedelta(days=int(tf["backup_retention_days"])))


# --- the rules ----------------------------------------------------------------------------------------------


def check(velero: Mapping[str, Any], *, platform_backup: bool, release: str, namespaces: list[str],
          target: Bucket | None, where: str, tfvars: str = "its tfvars") -> list[Finding]:
    """Every finding on one environment's Velero values (`velero`: the umbrella's `velero:` as merged for it, in
    release `release` with `namespaces`, writing to `target`); `where` names the file in each finding."""
    out: list[Finding] = []

    def fail(rule: str, key: str, message: str) -> None:
        out.append(Finding(GATE, where, rule, f"{key}: {message}"))

    enabled = bool(velero.get("enabled"))
    if enabled != bool(platform_backup):
        fail("backup-switch", "platform.backup.enabled", f"is {bool(platform_backup)} while velero.enabled is "
             f"{enabled}: set both (the platform chart gives Velero its NetworkPolicy and monitor)")
    if not enabled:
        return out
    if target is None:
        fail("backup-switch", "velero.enabled", f"Velero needs a Spaces backups bucket, and the environment has "
             f"none ({tfvars} does not exist)")
        return out
    locations = _check_locations(velero, target, fail)
    _check_credentials(velero, fail)
    schedules = velero.get("schedules") or {}
    if not isinstance(schedules, Mapping) or not schedules:
        fail("backup-schedule", "velero.schedules", "no schedule: Velero would run and back up nothing")
        return out
    # The chart names its ConfigMaps <release>-velero-<key> (velero.fullname).
    policies = {f"{release}-velero-{k}" for k in (velero.get("configMaps") or {})}
    for name, schedule in schedules.items():
        key = f"velero.schedules.{name}"
        if not isinstance(schedule, Mapping):
            fail("backup-schedule", key, "expected a mapping with `schedule` and `template`")
            continue
        if schedule.get("disabled"):
            continue
        _check_schedule(key, schedule, namespaces, locations, policies, target, fail)
    return out


def _check_locations(velero: Mapping[str, Any], target: Bucket, fail: Any) -> set[str]:
    """The storage locations: each the environment's bucket, one of them the default. Their names."""
    key = "velero.configuration.backupStorageLocation"
    locations = (velero.get("configuration") or {}).get("backupStorageLocation") or []
    if not isinstance(locations, list) or not locations:
        fail("backup-bucket", key, f"no storage location: backups need the bucket {target.name}")
        return set()
    names: set[str] = set()
    defaults = 0
    for i, location in enumerate(locations):
        at = f"{key}[{i}]"
        if not isinstance(location, Mapping):
            fail("backup-bucket", at, "expected a mapping (name, provider, bucket, config)")
            continue
        names.add(str(location.get("name") or DEFAULT_LOCATION))
        defaults += bool(location.get("default"))
        config = location.get("config") or {}
        if location.get("provider") != "aws":
            fail("backup-bucket", f"{at}.provider", f"is {location.get('provider')!r}; Spaces speaks the S3 API: "
                 "aws (velero-plugin-for-aws)")
        expected = {"bucket": (location.get("bucket"), target.name),
                    "config.region": (config.get("region"), target.region),
                    "config.s3Url": (config.get("s3Url"), target.endpoint)}
        for field, (got, want) in expected.items():
            if not got:
                fail("backup-bucket", f"{at}.{field}", f"missing; the environment's is {want!r} (Terraform)")
            elif got != want:
                fail("backup-bucket", f"{at}.{field}", f"is {got!r}; Terraform's backups bucket has {want!r}")
    if defaults != 1:
        fail("backup-bucket", key, f"{defaults} locations are `default: true`; exactly one must be (a backup "
             "without storageLocation goes there)")
    return names


def _check_credentials(velero: Mapping[str, Any], fail: Any) -> None:
    credentials = velero.get("credentials") or {}
    if credentials.get("useSecret") is False:
        fail("backup-bucket", "velero.credentials.useSecret", "false: the Spaces key is read from a Secret")
    if not credentials.get("existingSecret"):
        fail("backup-bucket", "velero.credentials.existingSecret", "missing: name the existing Secret holding the "
             "Spaces key (key `cloud`)")
    if credentials.get("secretContents"):
        fail("backup-bucket", "velero.credentials.secretContents", "a key in values; reference an existing Secret "
             "(velero.credentials.existingSecret) instead")


def _check_schedule(key: str, schedule: Mapping[str, Any], namespaces: list[str], locations: set[str],
                    policies: set[str], target: Bucket, fail: Any) -> None:
    gap: timedelta | None = None
    cron = schedule.get("schedule")
    if not isinstance(cron, str) or not cron.strip():
        fail("backup-schedule", f"{key}.schedule", "missing: a cron expression (5 fields, UTC)")
    else:
        try:
            gap = cron_gap(cron)
        except (CronError, ValueError) as exc:
            fail("backup-schedule", f"{key}.schedule", f"{cron!r} is not a schedule Velero runs: {exc}")
    if gap is not None and gap > MAX_INTERVAL:
        fail("backup-schedule", f"{key}.schedule", f"{cron!r} waits up to {_human(gap)} between runs; every "
             f"schedule runs at least every {_human(MAX_INTERVAL)} (the alert VeleroBackupNotRun pages after "
             f"{_human(MAX_INTERVAL + timedelta(hours=1))} without a successful backup)")
    if schedule.get("paused"):
        fail("backup-schedule", f"{key}.paused", "true: the schedule would never back anything up")
    template = schedule.get("template")
    if not isinstance(template, Mapping):
        fail("backup-schedule", f"{key}.template", "missing: the Backup spec (includedNamespaces, ttl, ...)")
        return
    _check_scope(f"{key}.template", template, namespaces, fail)
    location = template.get("storageLocation")
    if location is not None and locations and str(location) not in locations:  # none: reported already
        fail("backup-schedule", f"{key}.template.storageLocation", f"{location!r} is not a storage location of "
             f"velero.configuration.backupStorageLocation ({', '.join(sorted(locations)) or 'none'})")
    policy = template.get("resourcePolicy")
    if policy is not None and (not isinstance(policy, Mapping) or policy.get("name") not in policies):
        fail("backup-schedule", f"{key}.template.resourcePolicy", f"{policy!r} names no ConfigMap of "
             f"velero.configMaps ({', '.join(sorted(policies)) or 'none'})")
    _check_ttl(f"{key}.template.ttl", template.get("ttl"), gap, target, fail)


def _check_scope(key: str, template: Mapping[str, Any], namespaces: list[str], fail: Any) -> None:
    included = template.get("includedNamespaces")
    if not isinstance(included, list) or not included:
        fail("backup-schedule", f"{key}.includedNamespaces", "empty: list the namespaces to back up (Velero reads "
             f"an empty list as every namespace of the cluster); the environment's: {', '.join(namespaces)}")
        return
    excluded = set(template.get("excludedNamespaces") or [])
    if "*" in included:
        fail("backup-schedule", f"{key}.includedNamespaces", f"'*' backs up every namespace of the cluster; list "
             f"the environment's: {', '.join(namespaces)}")
    unknown = sorted(str(n) for n in included if n != "*" and n not in namespaces)
    if unknown:
        fail("backup-schedule", f"{key}.includedNamespaces", f"{', '.join(unknown)}: not a namespace of the "
             f"environment ({', '.join(namespaces)}); nothing would be backed up from it")
    left = [n for n in included if n in namespaces and n not in excluded and "*" not in excluded]
    if not unknown and not left:
        fail("backup-schedule", f"{key}.excludedNamespaces", "excludes every included namespace: the schedule "
             "would back up nothing")
    for field in ("excludedResources", "excludedNamespaceScopedResources"):
        if "*" in (template.get(field) or []):
            fail("backup-schedule", f"{key}.{field}", "'*' excludes every resource: the schedule would back up "
                 "nothing")


def _check_ttl(key: str, ttl: Any, gap: timedelta | None, target: Bucket, fail: Any) -> None:
    if ttl is None or ttl == "":
        fail("backup-retention", key, "missing: how long each backup is kept (a duration such as 720h)")
        return
    try:
        keep = parse_duration(ttl)
    except ValueError as exc:
        fail("backup-retention", key, str(exc))
        return
    if gap is not None and keep < gap:
        fail("backup-retention", key, f"{ttl} is shorter than the {_human(gap)} between two runs of the schedule: "
             "there would be times with no backup of it")
    if keep > target.keeps:
        fail("backup-retention", key, f"{ttl} is longer than the bucket {target.name} keeps objects "
             f"({_human(target.keeps)}, backup_retention_days): Spaces would delete backups Velero still lists")


# --- an environment as the repository defines it -------------------------------------------------------------


def platform_backup(env: str) -> bool:
    """platform.backup.enabled in `env`: the platform chart's default under what the umbrella hands it."""
    defaults = yamlfile.load(CHARTS / "platform" / "values.yaml") or {}
    merged = deep_merge(defaults, subchart_values("platform", env))
    return bool((merged.get("backup") or {}).get("enabled"))


def check_environment(env: str) -> list[Finding]:
    """The findings on `env`'s backup settings (umbrella defaults, then values/<env>.yaml)."""
    e = envs.get(env)
    return check(subchart_values("velero", env), platform_backup=platform_backup(env), release=e.release,
                 namespaces=list(e.namespaces), target=bucket(env), where=f"values/{env}.yaml",
                 tfvars=f"terraform/environments/{env}.tfvars")
