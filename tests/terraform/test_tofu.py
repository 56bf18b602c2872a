"""The configuration under a real CLI: the pinned OpenTofu (and the DigitalOcean provider where it can be had).

Bad input must fail at validation time with a message naming the variable; the variable rules are run by
`tofu plan` over terraform/variables.tf alone (no provider needed), the configuration by `tofu init
-backend=false` and `tofu validate` with the provider served from a local mirror.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_cloud import terraform
from todo_cloud.run import run

ENVIRONMENTS = terraform.environments()

# case -> (overrides on top of production.tfvars, the variable the error must name, part of its message)
BAD_INPUT = {
    "autoscaling_min_above_max": ({"node_min_count": "5", "node_max_count": "3"}, "node_max_count",
                                  "greater than or equal to node_min_count"),
    "unknown_region": ({"region": '"mars1"'}, "region", "region must be one of"),
    "unknown_node_size": ({"node_size": '"s-64vcpu-1tb"'}, "node_size", "node_size must be one of"),
    "unknown_database_size": ({"database_size": '"db-huge"'}, "database_size", "database_size must be one of"),
    "database_without_firewall": ({"database_enabled": "true", "database_firewall_rules": "[]"},
                                  "database_firewall_rules", "at least one rule when database_enabled"),
    "unknown_firewall_rule_type": ({"database_firewall_rules": '[{ type = "anyone", value = "0.0.0.0/0" }]'},
                                   "database_firewall_rules", "rule type must be one of"),
    "unknown_registry_tier": ({"registry_subscription_tier": '"enterprise"'}, "registry_subscription_tier",
                              "must be one of: starter, basic, professional"),
    "version_prefix_without_dot": ({"kubernetes_version_prefix": '"1.35"'}, "kubernetes_version_prefix",
                                   "trailing dot"),
    "public_vpc_range": ({"vpc_ip_range": '"8.8.0.0/16"'}, "vpc_ip_range", "private (RFC 1918)"),
    "zero_nodes": ({"node_min_count": "0"}, "node_min_count", "at least 1"),
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_satisfies_every_variable_rule(tofu: Path, tmp_path: Path, env: str) -> None:
    proc = terraform.check_variables([terraform.tfvars(env)], tmp_path, tofu)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_fails_naming_the_variable(tofu: Path, tmp_path: Path, case: str) -> None:
    overrides, variable, message = BAD_INPUT[case]
    bad = tmp_path / "bad.tfvars"
    bad.write_text("".join(f"{key} = {value}\n" for key, value in overrides.items()))
    proc = terraform.check_variables([terraform.tfvars("production"), bad], tmp_path, tofu)
    assert proc.returncode != 0
    assert f"var.{variable}" in proc.stderr
    assert message in " ".join(proc.stderr.split())


def test_init_without_a_state_bucket_names_the_bucket(tofu: Path, tmp_path: Path) -> None:
    module = terraform.configuration_copy(tmp_path / "module")
    proc = run([tofu, f"-chdir={module}", "init", "-input=false", "-no-color",
                "-backend-config=environments/production.s3.tfbackend"],
               check=False, env=terraform.cli_env(None, tmp_path / "data"), timeout=300)
    assert proc.returncode != 0
    assert 'The "bucket" attribute value must not be empty' in " ".join(proc.stderr.split())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_configuration_validates_with_the_provider(tofu: Path, env: str) -> None:
    try:
        provider, version = terraform.provider()
    except terraform.Unavailable as exc:
        pytest.skip(f"DigitalOcean provider unavailable: {exc}")
    result = terraform.validate_configuration(env, tofu, provider, version)
    assert result.status == "passed", result.detail


def test_validate_reports_a_missing_cli_as_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(build: bool = False) -> Path:
        raise terraform.Unavailable("tofu v0 is not built: reason")

    monkeypatch.setattr(terraform, "tofu", absent)
    results = terraform.validate(ENVIRONMENTS, build=False)
    assert {(r.status, r.detail) for r in results} == {("skipped", "tofu v0 is not built: reason")}
    assert len(results) == 2 * len(ENVIRONMENTS)


def test_configuration_is_formatted(tofu: Path, tmp_path: Path) -> None:
    proc = run([tofu, "fmt", "-check", "-recursive", "-diff", "-no-color", terraform.TERRAFORM,
                Path(__file__).parent / "checkov_cases"],
               check=False, env=terraform.cli_env(None, tmp_path / "data"), timeout=120)
    assert proc.returncode == 0, f"run `tofu fmt -recursive terraform`:\n{proc.stdout}{proc.stderr}"


def test_provider_override_must_name_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(terraform.PROVIDER_ENV, str(tmp_path / "absent"))
    with pytest.raises(terraform.Unavailable, match=f"{terraform.PROVIDER_ENV}=.*absent is not a file"):
        terraform.provider()


def test_provider_is_served_from_a_local_mirror_only(tmp_path: Path) -> None:
    binary = tmp_path / "terraform-provider-digitalocean"
    binary.write_text("")
    config = terraform.provider_mirror(binary, "2.99.1", tmp_path / "work").read_text()
    mirror = tmp_path / "work" / "providers"
    assert f'path    = "{mirror}"' in config
    assert "direct" not in config and "network_mirror" not in config
    for host in terraform.REGISTRY_HOSTS:
        served = mirror / host / "digitalocean/digitalocean/2.99.1/linux_amd64/terraform-provider-digitalocean_v2.99.1"
        assert served.resolve() == binary.resolve()
