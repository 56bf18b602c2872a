"""`todo-cloud validate`, data files: yamale schemas under config/schemas/, environment files that only
override, no secret material in values."""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_cloud.gates import data
from todo_cloud.paths import REPO

SCHEMAS = REPO / "config" / "schemas"
# The committed price table, broken in one place by a case below.
PRICES_TEXT = (REPO / "config" / "prices.yaml").read_text()


def test_the_repository_data_files_pass() -> None:
    findings = data.check_data()
    assert findings == [], "\n".join(map(str, findings))


def test_every_environment_file_and_every_config_file_is_checked() -> None:
    checked = {p.relative_to(REPO).as_posix() for p, _ in data.data_files()}
    assert {"values/local.yaml", "values/staging.yaml", "values/production.yaml",
            "config/environments.yaml", "config/prices.yaml", "config/kind-capacity.yaml"} <= checked
    assert data.unschemed_files() == []


@pytest.mark.parametrize(("schema", "text", "key"), [
    ("environments.yamale", "environments:\n  qa:\n    description: x\n    release: r\n    namespace: n\n"
                            "    kubeContext: c\n", "environments"),
    ("environments.yamale", "environments:\n  local:\n    description: x\n    release: Bad_Name\n"
                            "    namespace: n\n    kubeContext: c\n", "environments.local.release"),
    ("prices.yamale", "date: 2026-11-01\ncurrency: USD\nseed_monthly: 109\nnode_sizes:\n"
                      "  s-2vcpu-4gb: {monthly: 24, allocatable_cpu: 2 cores, allocatable_memory: 2.5Gi}\n"
                      "ha_control_plane: 40\nregistry_tiers: {basic: 5}\ndatabase_sizes: {db: 15}\n",
     "node_sizes.s-2vcpu-4gb.allocatable_cpu"),
    ("prices.yamale", PRICES_TEXT.replace("checked: 2026-12-05\n    confirmed: true\n", "checked: 2026-12-05\n", 1),
     "sources.ha_control_plane.confirmed"),
    ("profiles.yamale", "profiles:\n  Seed:\n    title: t\n    description: d\n    haControlPlane: false\n"
                        "    givesUp: []\n", "profiles"),
    ("profiles.yamale", "profiles:\n  seed:\n    title: t\n    description: d\n    haControlPlane: maybe\n"
                        "    givesUp: []\n", "profiles.seed.haControlPlane"),
    ("values.yamale", "global:\n  environment: prod\n", "global.environment"),
    ("kind-capacity.yamale", "node_count: 0\nallocatable_cpu: '2'\nallocatable_memory: 4Gi\n", "node_count"),
])
def test_a_yamale_finding_names_the_file_and_the_key(tmp_path: Path, schema: str, text: str, key: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    findings = data.yamale_findings(bad, SCHEMAS / schema)
    assert findings, f"{schema} accepted {text!r}"
    assert all(f.rule == f"yamale {schema}" for f in findings)
    assert any(f.message.startswith(f"{key}:") for f in findings), [str(f) for f in findings]


def test_an_environment_file_may_not_add_keys_the_umbrella_lacks() -> None:
    [finding] = data.override_findings("staging", {"global": {"environment": "staging"}, "redis": {}},
                                       {"global": {"environment": "local"}, "app": {}})
    assert (finding.where, finding.rule) == ("values/staging.yaml", "override-only")
    assert finding.message.startswith("redis:")


def test_an_environment_file_names_its_own_environment() -> None:
    [finding] = data.override_findings("production", {"global": {"environment": "staging"}},
                                       {"global": {"environment": "local"}})
    assert finding.rule == "environment-name" and finding.message.startswith("global.environment:")


@pytest.mark.parametrize("values", [
    {"app": {"backend": {"env": {"DATABASE_PASSWORD": "hunter2"}}}},
    {"kube-prometheus-stack": {"grafana": {"adminPassword": "prom-operator"}}},
    {"platform": {"kafka": {"users": [{"token": "abc"}]}}},
])
def test_literal_secret_material_in_values_is_found(values: dict) -> None:
    [finding] = data.secret_findings("values/production.yaml", values)
    assert finding.rule == "no-secret-data-in-values"
    assert finding.where == "values/production.yaml"


@pytest.mark.parametrize("values", [
    {"app": {"backend": {"existingSecret": "todo-db", "secretName": "x", "passwordKey": "password"}}},
    {"kube-prometheus-stack": {"grafana": {"admin": {"existingSecret": "grafana-admin"}, "adminPassword": ""}}},
    {"platform": {"kafka": {"tokenSecretRef": {"name": "t"}}}},
])
def test_references_to_secrets_are_not_secret_material(values: dict) -> None:
    assert data.secret_findings("values/production.yaml", values) == []
