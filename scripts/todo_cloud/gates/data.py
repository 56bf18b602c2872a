"""Validation of the YAML data the tooling reads (`todo-cloud validate`): yamale schemas under
config/schemas/ for the environment values files and config/*.yaml, plus the rules a schema cannot say
(an environment file only overrides keys the umbrella defines, and names its own environment; no secret
material in any values file; each environment's backup schedules, retention and bucket: gates.backups)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yamale
import yaml

from todo_cloud import envs, yamlfile
from todo_cloud.gates import Finding, backups
from todo_cloud.paths import CONFIG, REPO, UMBRELLA, VALUES

GATE = "values"
SCHEMAS = CONFIG / "schemas"

# Data file (relative to the repo) -> its yamale schema in config/schemas/. values/<env>.yaml files all
# use values.yamale. Files of config/ missing here are reported by `unschemed_files()`.
DATA_SCHEMAS: dict[str, str] = {
    "config/environments.yaml": "environments.yamale",
    "config/image-pins.yaml": "image-pins.yamale",
    "config/kind.yaml": "kind.yamale",
    "config/kind-capacity.yaml": "kind-capacity.yamale",
    "config/prices.yaml": "prices.yamale",
    "config/profiles.yaml": "profiles.yamale",
    "config/slos.yaml": "slos.yamale",
    "config/observability/alerts.yaml": "alerts.yamale",
    "config/observability/metrics.yaml": "metrics.yamale",
}

# Keys whose non-empty literal value in a values file is secret material (checked case-insensitively on
# the last path segment). Names of Secrets (`existingSecret`, `secretName`, `...SecretRef`) are fine.
SECRET_KEY = re.compile(r"(password|passwd|secret|token|apikey|api_key|privatekey|private_key|credentials?)$",
                        re.IGNORECASE)
SECRET_KEY_ALLOWED = re.compile(r"(existing|name|ref|file|path|enabled|create|mount|annotation)", re.IGNORECASE)
# Schemas that check only what they declare (the rest of the file is checked elsewhere).
NON_STRICT = {"values.yamale"}


def data_files() -> list[tuple[Path, Path]]:
    """(data file, schema) pairs to check: every environment's values file, every profile's layer
    (values/profiles/*.yaml) and the schemed config files."""
    pairs = [(envs.get(e).values_file, SCHEMAS / "values.yamale") for e in envs.names()]
    pairs += [(f, SCHEMAS / "values.yamale") for f in sorted(envs.PROFILE_VALUES.glob("*.yaml"))]
    for rel, schema in DATA_SCHEMAS.items():
        if (REPO / rel).is_file() and (SCHEMAS / schema).is_file():
            pairs.append((REPO / rel, SCHEMAS / schema))
    return pairs


def unschemed_files() -> list[str]:
    """YAML files of config/ (schemas aside) that no yamale schema covers yet."""
    return sorted(str(p.relative_to(REPO)) for p in CONFIG.rglob("*.yaml")
                  if str(p.relative_to(REPO)) not in DATA_SCHEMAS
                  or not (SCHEMAS / DATA_SCHEMAS[str(p.relative_to(REPO))]).is_file())


def yamale_findings(data_file: Path, schema_file: Path) -> list[Finding]:
    """yamale's verdict on one file; each error names the key path."""
    where = str(data_file.relative_to(REPO)) if data_file.is_relative_to(REPO) else str(data_file)
    try:
        schema = yamale.make_schema(str(schema_file), parser="PyYAML")
        data = yamale.make_data(str(data_file), parser="PyYAML")
        if data == [(None, str(data_file))]:  # a file of comments only (values/local.yaml) is an empty mapping
            data = [({}, str(data_file))]
        yamale.validate(schema, data, strict=schema_file.name not in NON_STRICT)
    except yamale.YamaleError as exc:
        return [Finding(GATE, where, f"yamale {schema_file.name}", err)
                for result in exc.results for err in result.errors]
    except (yaml.YAMLError, SyntaxError, ValueError) as exc:
        return [Finding(GATE, where, f"yamale {schema_file.name}", f"cannot be read: {exc}")]
    return []


def _walk(node: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            sub = f"{path}.{k}" if path else str(k)
            yield sub, v
            yield from _walk(v, sub)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def secret_findings(where: str, values: Any) -> list[Finding]:
    """Literal secret material in a values tree: a non-empty string under a password/token/secret key."""
    findings = []
    for path, value in _walk(values):
        last = re.split(r"[.\[]", path)[-1]
        if SECRET_KEY.search(last) and not SECRET_KEY_ALLOWED.search(last) and isinstance(value, str) \
                and value.strip():
            findings.append(Finding(GATE, where, "no-secret-data-in-values",
                                    f"{path}: literal secret value; reference an existing Secret instead"))
    return findings


def _unknown_keys(where: str, values: dict[str, Any], defaults: dict[str, Any]) -> list[Finding]:
    return [Finding(GATE, where, "override-only", f"{key}: not a key of the umbrella's values.yaml")
            for key in values if key not in defaults]


def override_findings(env: str, values: dict[str, Any], defaults: dict[str, Any]) -> list[Finding]:
    """An environment file overrides only top-level keys the umbrella defines, and names its environment."""
    where = f"values/{env}.yaml"
    findings = _unknown_keys(where, values, defaults)
    named = (values.get("global") or {}).get("environment", (defaults.get("global") or {}).get("environment"))
    if named != env:
        findings.append(Finding(GATE, where, "environment-name",
                                f"global.environment: is {named!r}, expected {env!r}"))
    return findings


def profile_findings(name: str, values: dict[str, Any], defaults: dict[str, Any]) -> list[Finding]:
    """A profile's layer overrides only top-level keys the umbrella defines, names no environment (it is
    every environment's that runs it) and marks itself applied (`profile.applied: <name>`)."""
    where = f"values/profiles/{name}.yaml"
    findings = _unknown_keys(where, values, defaults)
    if "environment" in (values.get("global") or {}):
        findings.append(Finding(GATE, where, "profile-layer", "global.environment: a profile names no environment"))
    applied = (values.get("profile") or {}).get("applied")
    if applied != name:
        findings.append(Finding(GATE, where, "profile-layer", f"profile.applied: is {applied!r}, expected {name!r}"))
    return findings


def check_data() -> list[Finding]:
    """Every finding of the values gate over the repository's files."""
    findings: list[Finding] = []
    for data_file, schema in data_files():
        findings += yamale_findings(data_file, schema)
    defaults = yamlfile.load(UMBRELLA / "values.yaml") or {}
    findings += secret_findings("charts/todo-chatbot-cloud/values.yaml", defaults)
    for env in envs.names():
        values = yamlfile.load(VALUES / f"{env}.yaml") or {}
        findings += override_findings(env, values, defaults)
        findings += secret_findings(f"values/{env}.yaml", values)
        findings += backups.check_environment(env)
    for file in sorted(envs.PROFILE_VALUES.glob("*.yaml")):
        values = yamlfile.load(file) or {}
        findings += profile_findings(file.stem, values, defaults)
        findings += secret_findings(f"values/profiles/{file.name}", values)
    return findings
