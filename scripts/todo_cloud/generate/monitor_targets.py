"""The platform chart's scrape targets (charts/platform/templates/_monitor_targets.tpl), from the metrics
catalogue config/observability/metrics.yaml.

Every target the catalogue gives to `chart: platform` becomes one entry of the helper
`platform.monitoring.targets`, which templates/monitoring/servicemonitors.yaml and podmonitors.yaml turn
into monitors: the monitor's kind and name (the catalogue's `monitor` without the release-name prefix), its
`selector`, its `endpoints`, `appLabel`, and `part` (the part of the chart, such as `backup`, that the target
exists with: its monitor renders only while `<part>.enabled`). The catalogue's placeholders become template
expressions:
${release} the release name, ${kafkaCluster} monitoring.kafkaCluster, ${path} monitoring.targets.<job>.path.
Generation fails, naming the target, when a platform target has no `scrape` (or another target has one),
when its monitor name does not start with the release name, or when the platform chart's
monitoring.targets (values.yaml and schema/monitoring.yaml) do not list exactly the catalogue's jobs, or when
a target's `part` is not a part of the chart (a top-level key of its values with `enabled`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import envs, yamlfile
from todo_cloud.generate import header
from todo_cloud.observability import ObservabilityError, promql
from todo_cloud.paths import CHARTS

PLATFORM = CHARTS / "platform"
OUTPUT = PLATFORM / "templates" / "_monitor_targets.tpl"
PLACEHOLDER = re.compile(r"\$\{(release|kafkaCluster|path)\}")


def release_name() -> str:
    """The release name the catalogue's monitor names carry: the one release of every environment."""
    releases = {envs.get(e).release for e in envs.names()}
    if len(releases) != 1:
        raise ObservabilityError(f"config/environments.yaml: the environments use several release names "
                                 f"({sorted(releases)}); the catalogue's monitor names assume one")
    return releases.pop()


def _expression(name: str, job: str) -> str:
    return {"release": ".Release.Name", "kafkaCluster": "$cluster",
            "path": f'(index $m.targets "{job}").path'}[name]


def _template(value: Any, job: str, slots: dict[str, str]) -> Any:
    """`value` with each placeholder replaced by a token that the YAML dumper leaves plain, and `slots`
    mapping the token to its template expression (quoted when the placeholder is the whole string)."""
    if isinstance(value, dict):
        return {k: _template(v, job, slots) for k, v in value.items()}
    if isinstance(value, list):
        return [_template(v, job, slots) for v in value]
    if not isinstance(value, str) or not PLACEHOLDER.search(value):
        return value

    def slot(text: str) -> str:
        token = f"generatedslot{len(slots)}x"
        slots[token] = text
        return token

    whole = PLACEHOLDER.fullmatch(value)
    if whole:
        return slot("{{ " + _expression(whole.group(1), job) + " | quote }}")
    return PLACEHOLDER.sub(lambda m: slot("{{ " + _expression(m.group(1), job) + " }}"), value)


def _check_chart_targets(jobs: list[str], with_path: list[str], catalogue_file: Path) -> None:
    """The chart's monitoring.targets (values.yaml and its schema) list exactly the catalogue's jobs, and the
    jobs whose scrape reads ${path} (`with_path`) have a path."""
    values = yamlfile.load(PLATFORM / "values.yaml")["monitoring"]["targets"]
    schema = yamlfile.load(PLATFORM / "schema" / "monitoring.yaml")["properties"]["targets"]
    for where, keys in (("charts/platform/values.yaml monitoring.targets", set(values)),
                        ("charts/platform/schema/monitoring.yaml targets.properties", set(schema["properties"])),
                        ("charts/platform/schema/monitoring.yaml targets.required", set(schema["required"]))):
        if keys != set(jobs):
            raise ObservabilityError(f"{where}: {sorted(keys)} differ from the catalogue's platform targets "
                                     f"{sorted(jobs)} ({catalogue_file.name}); add or remove the target there")
    for job in with_path:
        if "path" not in (values[job] or {}):
            raise ObservabilityError(f"charts/platform/values.yaml monitoring.targets.{job}.path: the catalogue's "
                                     f"scrape of {job} reads ${{path}}, so the chart needs a default path")


def _check_part(part: str, where: str) -> None:
    """`part` is a part of the platform chart: a top-level key of its values.yaml with `enabled`."""
    values = yamlfile.load(PLATFORM / "values.yaml")
    if not isinstance(values.get(part), dict) or "enabled" not in values[part]:
        parts = sorted(k for k, v in values.items() if isinstance(v, dict) and "enabled" in v)
        raise ObservabilityError(f"{where}: {part!r} is not a part of the platform chart (parts: {', '.join(parts)})")


def targets(catalogue_file: Path, slots: dict[str, str]) -> dict[str, dict]:
    """The platform's targets by job, their placeholders as tokens of `slots` (see _template)."""
    catalogue = promql.load_catalogue(catalogue_file)
    raw = yamlfile.load(catalogue_file)["targets"]
    prefix = release_name() + "-"
    out: dict[str, dict] = {}
    for job, target in catalogue.targets.items():
        scrape = raw[job].get("scrape")
        where = f"{catalogue_file.name}: targets.{job}"
        if target.chart != "platform":
            if scrape is not None:
                raise ObservabilityError(f"{where}.scrape: only targets of chart platform are scraped by our monitors")
            continue
        if not scrape:
            raise ObservabilityError(f"{where}.scrape: a target of chart platform needs its selector and endpoints")
        if not target.monitor_name.startswith(prefix):
            raise ObservabilityError(f"{where}.monitor: {target.monitor_name!r} does not start with the release "
                                     f"name {prefix!r}")
        entry: dict[str, Any] = {"kind": target.monitor_kind, "name": target.monitor_name.removeprefix(prefix)}
        if scrape.get("appLabel"):
            entry["app"] = True
        if target.part:
            _check_part(target.part, f"{where}.part")
            entry["part"] = target.part
        entry["selector"] = _template(scrape["selector"], job, slots)
        entry["endpoints"] = [_template(e, job, slots) for e in scrape["endpoints"]]
        out[job] = entry
    with_path = [job for job in out if "${path}" in yaml.safe_dump(raw[job]["scrape"])]
    _check_chart_targets(list(out), with_path, catalogue_file)
    return out


def helper(catalogue_file: Path) -> str:
    """The generated helper file for the catalogue `catalogue_file`."""
    slots: dict[str, str] = {}
    body = yaml.safe_dump(targets(catalogue_file, slots), sort_keys=False, width=120, default_flow_style=False)
    for token, expression in slots.items():
        body = body.replace(token, expression)
    return f"""{header("monitor_targets", "{{/*")} */}}}}
{{{{/*
The scrape targets of config/observability/metrics.yaml that the platform chart monitors, by job: the kind of
monitor, its name suffix, its pod or Service selector and its endpoints; `app` when the series get an `app`
label; `part` when the monitor renders only while that part of the chart is on. Every endpoint sets `job` to
the target's key (platform.monitoring.endpoint).
Usage: {{{{ $targets := include "platform.monitoring.targets" . | fromYaml }}}}
*/}}}}
{{{{- define "platform.monitoring.targets" -}}}}
{{{{- $m := .Values.monitoring -}}}}
{{{{- $cluster := required "monitoring.kafkaCluster: the Kafka cluster name is needed" $m.kafkaCluster -}}}}
{body.rstrip()}
{{{{- end -}}}}
"""


def generate() -> dict[Path, str]:
    return {OUTPUT: helper(promql.CATALOGUE_FILE)}
