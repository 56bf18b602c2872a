"""Retention settings of the observability stack in the umbrella values and each environment file:
formats checked, and Prometheus' size cap below its volume. `make generate` runs this check, so a bad value
fails generation (and the drift test) naming the file and the key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from todo_cloud import envs, profiles, yamlfile
from todo_cloud.observability import ObservabilityError
from todo_cloud.paths import REPO, UMBRELLA
from todo_cloud.render import deep_merge, lookup

# key path in the umbrella values -> (pattern, what it must be)
PROM_DURATION = re.compile(r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$")
SIZE = re.compile(r"^(0|(\d*\.)?\d+((K|M|G|T|E|P)i?)?B)$")
AM_DURATION = re.compile(r"^(0|(\d+(\.\d+)?(ms|s|m|h))+)$")
CHECKS: dict[tuple[str, ...], tuple[re.Pattern[str], str]] = {
    ("kube-prometheus-stack", "prometheus", "prometheusSpec", "retention"):
        (PROM_DURATION, "a Prometheus duration (like 12h, 15d, 2w)"),
    ("kube-prometheus-stack", "prometheus", "prometheusSpec", "retentionSize"):
        (SIZE, "a size in bytes with unit (like 40GB, 512MiB) or empty"),
    ("kube-prometheus-stack", "alertmanager", "alertmanagerSpec", "retention"):
        (AM_DURATION, "an Alertmanager duration in h, m or s (like 120h)"),
    ("loki", "loki", "limits_config", "retention_period"):
        (re.compile(r"^\d+h$"), "whole hours (like 168h), Loki's retention granularity"),
}
VOLUME = ("kube-prometheus-stack", "prometheus", "prometheusSpec", "storageSpec", "volumeClaimTemplate", "spec",
          "resources", "requests", "storage")
CHECKS_SIZE = ("kube-prometheus-stack", "prometheus", "prometheusSpec", "retentionSize")
UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
         "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def size_in_bytes(size: str) -> float:
    """Bytes of a Kubernetes quantity or a Prometheus size (50Gi, 40GB)."""
    m = re.match(r"^(\d*\.?\d+)(K|M|G|T|P|E)?(i?)B?$", size)
    if not m:
        raise ValueError(size)
    return float(m.group(1)) * UNITS[(m.group(2) or "") + (m.group(3) or "")]


def check_values(values: Mapping, source: str) -> None:
    """Raise ObservabilityError naming `source` and the key when a retention value is malformed, or when
    Prometheus' retentionSize does not stay below its volume."""
    for path, (pattern, what) in CHECKS.items():
        value = lookup(values, path)
        if value in (None, "") and path[-1] == "retentionSize":
            continue
        if not isinstance(value, str) or not pattern.match(value):
            raise ObservabilityError(f"{source}: {'.'.join(path)}: {value!r} is not {what}")
    size, volume = lookup(values, CHECKS_SIZE), lookup(values, VOLUME)
    if volume:
        if not size:
            raise ObservabilityError(f"{source}: {'.'.join(CHECKS_SIZE)}: needed below the volume size {volume}")
        if size_in_bytes(size) >= 0.95 * size_in_bytes(str(volume)):
            raise ObservabilityError(f"{source}: {'.'.join(CHECKS_SIZE)}: {size} does not stay below 95% of the "
                                     f"volume ({'.'.join(VOLUME)} = {volume})")



def check_environments(defaults: Path = UMBRELLA / "values.yaml") -> None:
    """Check the umbrella defaults merged with every environment's values files, under each profile of
    config/profiles.yaml for an environment that runs one."""
    base = yamlfile.load(defaults) or {}
    check_values(base, str(defaults.relative_to(REPO)))
    for name in envs.names():
        env = envs.get(name)
        variants = [profiles.values_files(env, p) for p in profiles.all_profiles()] if env.profile \
            else [env.values_files]
        for files in variants:
            merged = base
            for file in files:
                merged = deep_merge(merged, yamlfile.load(file) or {})
            check_values(merged, " + ".join(str(f.relative_to(REPO)) for f in files if f.is_relative_to(REPO)))
