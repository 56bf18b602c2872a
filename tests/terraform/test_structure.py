"""The Terraform configuration's shape, read with python-hcl2: variables, outputs, resources, tfvars."""

from __future__ import annotations

import re
from typing import Any

import pytest

from todo_cloud import envs, profiles, terraform, versions
from todo_cloud.paths import TERRAFORM

ENVIRONMENTS = terraform.environments()
parse = terraform.parse_hcl

# The variable names the cost report of issue 6 reads from both tfvars (the contract).
COST_CONTRACT = (
    "region", "cluster_name", "kubernetes_version_prefix", "node_size", "node_min_count", "node_max_count",
    "ha_control_plane", "registry_subscription_tier", "database_enabled", "database_size", "database_node_count",
)
SPLIT_BY_CONCERN = ("versions.tf", "providers.tf", "variables.tf", "outputs.tf", "vpc.tf", "doks.tf",
                    "registry.tf", "database.tf", "spaces.tf")
# Resource types the DigitalOcean API lets us tag; every other resource is grouped by the project.
TAGGABLE = ("digitalocean_kubernetes_cluster", "digitalocean_database_cluster")
SECRET_WORDS = re.compile(r"password|private_uri|\.uri\b|kube_config|token|secret|credentials", re.I)


def test_configuration_is_split_by_concern(tf_files: dict[str, Any]) -> None:
    assert set(SPLIT_BY_CONCERN) <= set(tf_files)


def test_every_variable_is_described_typed_and_validated_or_boolean(variables: dict[str, Any]) -> None:
    for name, body in variables.items():
        assert body.get("description", "").strip(), f"variable {name} has no description"
        assert "type" in body, f"variable {name} has no type"
        if body["type"] not in ("bool", "${bool}"):
            assert body.get("validation"), f"variable {name} has no validation block"


def test_validation_messages_name_their_variable(variables: dict[str, Any]) -> None:
    for name, body in variables.items():
        for rule in body.get("validation", []):
            assert name in rule["error_message"], f"{name}: message does not name it: {rule['error_message']}"


def test_no_variable_is_secret_with_a_default(variables: dict[str, Any]) -> None:
    for name, body in variables.items():
        assert not (body.get("sensitive") and body.get("default") is not None), name
        assert not SECRET_WORDS.search(name), f"{name}: secrets come from the environment, not from variables"


def test_identity_variables_have_no_default(variables: dict[str, Any]) -> None:
    # Names that are global across DigitalOcean, and the environment itself, must be chosen per environment.
    for name in ("environment", "region", "cluster_name", "registry_name", "spaces_bucket_prefix", "vpc_ip_range"):
        assert "default" not in variables[name], name


def test_node_max_count_is_validated_against_node_min_count(variables: dict[str, Any]) -> None:
    conditions = [rule["condition"] for rule in variables["node_max_count"]["validation"]]
    assert any("var.node_min_count" in c for c in conditions)


def test_database_firewall_is_required_when_the_database_is(variables: dict[str, Any]) -> None:
    conditions = [rule["condition"] for rule in variables["database_firewall_rules"]["validation"]]
    assert any("var.database_enabled" in c and "length(var.database_firewall_rules)" in c for c in conditions)


def test_outputs_are_described(outputs: dict[str, Any]) -> None:
    for name, body in outputs.items():
        assert body.get("description", "").strip(), f"output {name} has no description"


def test_outputs_carrying_secrets_are_sensitive(outputs: dict[str, Any]) -> None:
    secret = {name for name, body in outputs.items() if SECRET_WORDS.search(str(body["value"]))}
    assert secret == {"database_uri", "loki_spaces_secret_key", "backups_spaces_secret_key",
                      "velero_spaces_secret_key"}
    for name in secret:
        assert outputs[name].get("sensitive") is True, f"output {name} must be sensitive"


def test_deploy_tooling_outputs_exist(outputs: dict[str, Any]) -> None:
    wanted = {"cluster_name", "cluster_id", "cluster_endpoint", "registry_endpoint", "database_host", "database_uri",
              "kube_context"}
    assert wanted <= set(outputs)


def test_taggable_resources_carry_the_common_tags(resources: dict[str, Any]) -> None:
    taggable = {addr: body for addr, body in resources.items() if addr.split(".")[0] in TAGGABLE}
    assert taggable, "no taggable resource found"
    for addr, body in taggable.items():
        assert body.get("tags") == "${local.tags}", addr
    pool = resources["digitalocean_kubernetes_cluster.this"]["node_pool"][0]
    assert pool["tags"] == "${local.tags}"


def test_untaggable_resources_are_grouped_in_the_project(resources: dict[str, Any]) -> None:
    grouped = str(resources["digitalocean_project.this"]["resources"])
    for addr in ("digitalocean_kubernetes_cluster.this", "digitalocean_spaces_bucket.loki",
                 "digitalocean_spaces_bucket.backups", "digitalocean_database_cluster.postgres"):
        assert addr in grouped, addr


def test_cluster_lives_in_its_own_vpc_with_a_pinned_minor(tf_files: dict[str, Any], resources: dict[str, Any]) -> None:
    cluster = resources["digitalocean_kubernetes_cluster.this"]
    assert cluster["vpc_uuid"] == "${digitalocean_vpc.this.id}"
    assert cluster["version"] == "${data.digitalocean_kubernetes_versions.this.latest_version}"
    data = tf_files["doks.tf"]["data"][0]["digitalocean_kubernetes_versions"]["this"]
    assert data["version_prefix"] == "${var.kubernetes_version_prefix}"


def test_cluster_settings_follow_the_variables(resources: dict[str, Any]) -> None:
    cluster = resources["digitalocean_kubernetes_cluster.this"]
    assert cluster["ha"] == "${var.ha_control_plane}"
    assert cluster["surge_upgrade"] == "${var.surge_upgrade}"
    assert cluster["auto_upgrade"] == "${var.auto_upgrade}"
    assert cluster["registry_integration"] is True
    assert cluster["maintenance_policy"][0] == {"day": "${var.maintenance_day}",
                                                "start_time": "${var.maintenance_start_time}"}
    pool = cluster["node_pool"][0]
    assert (pool["auto_scale"], pool["min_nodes"], pool["max_nodes"]) == (
        True, "${var.node_min_count}", "${var.node_max_count}")


def test_database_is_private_and_behind_a_firewall(resources: dict[str, Any]) -> None:
    db = resources["digitalocean_database_cluster.postgres"]
    assert db["private_network_uuid"] == "${digitalocean_vpc.this.id}"
    assert db["engine"] == "pg"
    firewall = resources["digitalocean_database_firewall.postgres"]
    assert firewall["count"] == db["count"] == "${var.database_enabled ? 1 : 0}"
    rule = firewall["dynamic"][0]["rule"]
    assert rule["for_each"] == "${var.database_firewall_rules}"
    assert "digitalocean_kubernetes_cluster.this.id" in rule["content"][0]["value"]


def test_spaces_buckets_for_loki_and_backups(resources: dict[str, Any]) -> None:
    loki, backups = resources["digitalocean_spaces_bucket.loki"], resources["digitalocean_spaces_bucket.backups"]
    assert loki["acl"] == backups["acl"] == "private"
    assert backups["versioning"][0]["enabled"] is True
    assert backups["lifecycle_rule"][0]["expiration"][0]["days"] == "${var.backup_retention_days}"


def test_velero_has_its_own_spaces_key_on_the_backups_bucket_only(resources: dict[str, Any]) -> None:
    key = resources["digitalocean_spaces_key.velero"]
    assert [(g["bucket"], g["permission"]) for g in key["grant"]] == [
        ("${digitalocean_spaces_bucket.backups.name}", "readwrite")]


def test_backend_is_s3_on_spaces_without_a_bucket_in_the_repo(tf_files: dict[str, Any]) -> None:
    backend = tf_files["versions.tf"]["terraform"][0]["backend"][0]["s3"]
    assert "bucket" not in backend
    assert backend["use_lockfile"] is True
    for env in ENVIRONMENTS:
        partial = parse(TERRAFORM / "environments" / f"{env}.s3.tfbackend")
        assert "bucket" not in partial, env
        assert partial["key"] == f"todo-chatbot/{env}/terraform.tfstate"
        assert partial["endpoints"]["s3"].endswith(".digitaloceanspaces.com")


def test_terraform_and_provider_versions_are_pinned(tf_files: dict[str, Any]) -> None:
    block = tf_files["versions.tf"]["terraform"][0]
    assert block["required_version"] == ">= 1.9.0"
    provider = block["required_providers"][0]["digitalocean"]
    assert provider["source"] == "digitalocean/digitalocean"
    served = versions.load()["go_builds"]["terraform-provider-digitalocean"]["provider_version"]
    assert provider["version"] == "~> " + ".".join(served.split(".")[:2])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_hold_the_cost_contract(tfvars: dict[str, Any], env: str) -> None:
    missing = [name for name in COST_CONTRACT if name not in tfvars[env]]
    assert not missing, f"{env}.tfvars lacks {missing}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_set_only_declared_variables(tfvars: dict[str, Any], variables: dict[str, Any], env: str) -> None:
    assert set(tfvars[env]) <= set(variables)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tfvars_target_the_kubernetes_minor_of_versions_toml(tfvars: dict[str, Any], env: str) -> None:
    minor = ".".join(versions.kubernetes_version().split(".")[:2])
    assert tfvars[env]["kubernetes_version_prefix"] == f"{minor}."


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_kube_context_is_the_one_doctl_writes_for_the_tfvars_cluster(tfvars: dict[str, Any], env: str) -> None:
    # the deploy insists on this context; the cluster Terraform creates must be the one it names
    assert envs.get(env).kube_context == f"do-{tfvars[env]['region']}-{tfvars[env]['cluster_name']}"
    assert tfvars[env]["environment"] == env


def test_every_environment_with_tfvars_is_a_doks_environment_of_the_config() -> None:
    assert sorted(e.name for e in envs.all_environments().values() if e.digitalocean) == ENVIRONMENTS


def test_production_is_sized_as_the_seed(tfvars: dict[str, Any]) -> None:
    prod = tfvars["production"]
    assert (prod["node_size"], prod["node_min_count"], prod["node_max_count"]) == ("s-2vcpu-4gb", 3, 10)
    assert prod["ha_control_plane"] is profiles.in_use(envs.get("production")).ha_control_plane, \
        "production.tfvars ha_control_plane disagrees with config/profiles.yaml haControlPlane of the profile " \
        "values/production.yaml names"
    assert prod["surge_upgrade"] is True and prod["auto_upgrade"] is True
    assert prod["database_enabled"] is True
    assert prod["database_firewall_rules"] == [{"type": "k8s", "value": "cluster"}]


def test_staging_is_smaller_than_production(tfvars: dict[str, Any]) -> None:
    prod, stage = tfvars["production"], tfvars["staging"]
    assert stage["node_size"] == prod["node_size"]
    assert 2 <= stage["node_min_count"] <= stage["node_max_count"] < prod["node_max_count"]
    assert stage["node_min_count"] < prod["node_min_count"]
    assert stage["ha_control_plane"] is False


def test_environments_do_not_share_names_or_networks(tfvars: dict[str, Any]) -> None:
    for key in ("cluster_name", "registry_name", "spaces_bucket_prefix", "vpc_ip_range"):
        values = [tfvars[env][key] for env in ENVIRONMENTS]
        assert len(set(values)) == len(values), key
