"""The environment facts: config/environments.yaml is their one source, and the cross-layer check
(todo_cloud.env_facts, in `todo-cloud validate`) passes on the repository and fails on every copy that
disagrees, naming the file and key on one side and the key of config/environments.yaml on the other.

Each bad-input case works on copies: the files holding facts copied into tmp_path and one of them changed,
or config/environments.yaml changed and the repository's files compared against it.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from todo_cloud import env_facts, envs, terraform, yaml_edit, yamlfile
from todo_cloud.commands import envs as commands_envs
from todo_cloud.envs import ENVIRONMENTS_FILE, EnvironmentError
from todo_cloud.paths import REPO

ALL_COPIES = [(env.name, c) for env in envs.all_environments().values() for c in env_facts.copies(env)]


def fact_files(root: Path) -> Path:
    """The files that hold facts, copied from the repository into `root`."""
    for rel in {c.file for _, c in ALL_COPIES}:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, root / rel)
    return root


def wrong(value: Any) -> Any:
    """A value of the same type that differs from `value`."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [*value, "registry-other"] if value else ["todo-chatbot-registry"]
    return {"nyc3": "fra1"}.get(value, f"other-{value}")


def set_in_file(path: Path, key: str, value: Any) -> None:
    """Set `key` of a values file (ruamel, in place) or an attribute of an HCL file to `value`."""
    if path.suffix == ".yaml":
        path.write_text(yaml_edit.edit(path.read_text(), lambda tree: env_facts._set(tree, key, value)))
        return
    attribute = key.split(".")[-1]
    lines = path.read_text().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.split("=")[0].strip() == attribute]
    assert hits, f"{attribute} not in {path}"
    shown = str(value) if isinstance(value, int) else f'"{value}"'
    lines[hits[-1]] = lines[hits[-1]].split("=")[0] + f"= {shown}\n"
    path.write_text("".join(lines))


def test_the_repository_agrees_with_its_environment_facts() -> None:
    assert env_facts.findings() == []


def test_every_doks_environment_copies_each_fact_terraform_and_the_values_need() -> None:
    for env in envs.all_environments().values():
        keys = {(c.file, c.key) for c in env_facts.copies(env)}
        values = f"values/{env.name}.yaml"
        assert {(values, "app.image.registry"), (values, "app.image.pullSecrets"),
                (values, "app.networkPolicy.database.cidr"), (values, "app.networkPolicy.database.port")} <= keys
        if env.digitalocean:
            tf = f"terraform/environments/{env.name}.tfvars"
            assert {(tf, v) for v in ("region", "vpc_ip_range", "cluster_name", "node_size", "node_min_count",
                                      "node_max_count", "registry_name", "spaces_bucket_prefix")} <= keys
            assert (values, "loki.loki.storage.bucketNames.chunks") in keys


@pytest.mark.parametrize(("env", "copy"), ALL_COPIES, ids=[f"{e}:{c.file}:{c.key}" for e, c in ALL_COPIES])
def test_a_copy_that_differs_is_named_with_both_sides(tmp_path: Path, env: str, copy: env_facts.Copy) -> None:
    root = fact_files(tmp_path)
    bad = wrong(copy.value)
    set_in_file(root / copy.file, copy.key, bad)
    found = env_facts.findings(root)
    assert [(f.where, f.rule) for f in found] == [(copy.file, "env-fact")], [str(f) for f in found]
    message = found[0].message
    assert copy.key in message and copy.source in message, message
    assert env_facts._shown(copy.value) in message and env_facts._shown(bad) in message, message


# Facts of config/environments.yaml -> (the key changed, its new value, the copies that then disagree).
CONFIG_CHANGES: list[tuple[str, str, str, Any, set[tuple[str, str]]]] = [
    ("vpc", "production", "digitalocean.vpcCidr", "10.130.0.0/20",
     {("terraform/environments/production.tfvars", "vpc_ip_range"),
      ("values/production.yaml", "app.networkPolicy.database.cidr"),
      ("values/production.yaml", "platform.networkPolicy.database.cidr")}),
    ("database-cidr", "staging", "database.cidr", "10.110.8.0/24",
     {("values/staging.yaml", "app.networkPolicy.database.cidr"),
      ("values/staging.yaml", "platform.networkPolicy.database.cidr")}),
    ("database-port", "production", "database.port", 5432,
     {("values/production.yaml", "app.networkPolicy.database.port"),
      ("values/production.yaml", "platform.networkPolicy.database.port")}),
    ("registry", "staging", "digitalocean.registry", "todo-chatbot-stage",
     {("terraform/environments/staging.tfvars", "registry_name"), ("values/staging.yaml", "app.image.registry"),
      ("values/staging.yaml", "app.image.pullSecrets")}),
    ("region", "staging", "digitalocean.region", "ams3",
     {("terraform/environments/staging.tfvars", "region"),
      ("terraform/environments/staging.s3.tfbackend", "endpoints.s3"),
      ("values/staging.yaml", "loki.loki.storage.s3.endpoint"),
      ("values/staging.yaml", "loki.loki.storage.s3.region")}),
    ("cluster", "production", "digitalocean.cluster", "todo-chatbot-prod",
     {("terraform/environments/production.tfvars", "cluster_name")}),
    ("bucket-prefix", "production", "digitalocean.spacesBucketPrefix", "acme-todo-production",
     {("terraform/environments/production.tfvars", "spaces_bucket_prefix")}
     | {("values/production.yaml", f"loki.loki.storage.bucketNames.{b}") for b in ("chunks", "ruler", "admin")}
     | {("values/production.yaml", "platform.postgresDump.bucket")}),
    ("node-size", "production", "digitalocean.nodePool.size", "s-4vcpu-8gb",
     {("terraform/environments/production.tfvars", "node_size")}),
    ("node-min", "staging", "digitalocean.nodePool.min", 3,
     {("terraform/environments/staging.tfvars", "node_min_count")}),
    ("node-max", "staging", "digitalocean.nodePool.max", 6,
     {("terraform/environments/staging.tfvars", "node_max_count")}),
    ("kind-registry", "local", "imageRegistry", "localhost:5001", {("values/local.yaml", "app.image.registry")}),
    ("kind-database", "local", "database.cidr", "172.19.0.0/16",
     {("values/local.yaml", "app.networkPolicy.database.cidr"),
      ("values/local.yaml", "platform.networkPolicy.database.cidr")}),
]


def changed_config(tmp_path: Path, env: str, key: str, value: Any) -> dict[str, envs.Environment]:
    data = yamlfile.load(ENVIRONMENTS_FILE)
    node = data["environments"][env]
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    path = tmp_path / "environments.yaml"
    path.write_text(yaml.safe_dump(data))
    return envs.load(path)


@pytest.mark.parametrize(("env", "key", "value", "expected"), [c[1:] for c in CONFIG_CHANGES],
                         ids=[c[0] for c in CONFIG_CHANGES])
def test_a_changed_fact_names_every_copy_left_behind(tmp_path: Path, env: str, key: str, value: Any,
                                                     expected: set[tuple[str, str]]) -> None:
    environments = changed_config(tmp_path, env, key, value)
    found = env_facts.findings(REPO, environments.values())
    named = {(f.where, next(c.key for c in env_facts.copies(environments[env]) if f.message.startswith(c.key + " ")))
             for f in found}
    assert named == expected, [str(f) for f in found]
    assert all(f"environments.{env}." in f.message for f in found)


def test_make_generate_writes_what_the_check_then_accepts(tmp_path: Path) -> None:
    environments = changed_config(tmp_path, "staging", "digitalocean.vpcCidr", "10.130.16.0/20")
    root = fact_files(tmp_path / "repo")
    for path, content in env_facts.rendered(root, environments.values()).items():
        path.write_text(content)
    assert env_facts.findings(root, environments.values()) == []
    assert terraform.parse_hcl(root / "terraform/environments/staging.tfvars")["vpc_ip_range"] == "10.130.16.0/20"
    staging = yamlfile.load(root / "values/staging.yaml")
    assert staging["app"]["networkPolicy"]["database"]["cidr"] == "10.130.16.0/20"
    assert "# App (charts/app)" in (root / "values/staging.yaml").read_text()  # comments kept


# The mismatches issue 15 found, as they were: each is named, with both sides.
ISSUE_15 = [
    ("values/production.yaml", "app.networkPolicy.database.cidr", "10.10.0.0/16", "10.120.0.0/20"),
    ("values/staging.yaml", "app.networkPolicy.database.cidr", "10.20.0.0/16", "10.110.0.0/20"),
    ("values/staging.yaml", "app.image.registry", "registry.digitalocean.com/todo-chatbot",
     "registry.digitalocean.com/todo-chatbot-staging"),
    ("values/production.yaml", "app.image.pullSecrets", ["todo-chatbot-registry"], ["registry-todo-chatbot"]),
]


@pytest.mark.parametrize(("file", "key", "was", "is_"), ISSUE_15, ids=[f"{f}:{k}" for f, k, *_ in ISSUE_15])
def test_the_mismatches_of_issue_15_are_refused(tmp_path: Path, file: str, key: str, was: Any, is_: Any) -> None:
    root = fact_files(tmp_path)
    set_in_file(root / file, key, was)
    [finding] = env_facts.findings(root)
    assert finding.where == file
    assert f"{key} is {env_facts._shown(was)}" in finding.message
    assert f"is {env_facts._shown(is_)}" in finding.message


def test_a_fact_set_by_hand_above_the_marker_is_refused(tmp_path: Path) -> None:
    root = fact_files(tmp_path)
    tfvars = root / "terraform/environments/production.tfvars"
    tfvars.write_text('vpc_ip_range = "10.10.0.0/16"\n' + tfvars.read_text())
    [finding] = env_facts.findings(root)
    assert finding.where == "terraform/environments/production.tfvars"
    assert "vpc_ip_range is set by hand above the marker" in finding.message


def test_a_missing_copy_file_is_named(tmp_path: Path) -> None:
    root = fact_files(tmp_path)
    (root / "terraform/environments/staging.s3.tfbackend").unlink()
    found = env_facts.findings(root)
    assert {f.where for f in found} == {"terraform/environments/staging.s3.tfbackend"}
    assert all("missing" in f.message for f in found)


BAD_CONFIG: list[tuple[str, str, str, Any, str]] = [
    ("doks-with-kube-context", "staging", "kubeContext", "do-nyc3-other", "environments.staging.kubeContext"),
    ("doks-with-image-registry", "production", "imageRegistry", "ghcr.io/x",
     "environments.production.imageRegistry"),
    ("vpc-host-bits", "staging", "digitalocean.vpcCidr", "10.110.0.1/20", "host bits"),
    ("vpc-not-private", "production", "digitalocean.vpcCidr", "8.8.0.0/20", "private"),
    ("vpc-too-large", "production", "digitalocean.vpcCidr", "10.0.0.0/8", "/16 to /24"),
    ("vpc-malformed", "production", "digitalocean.vpcCidr", "10.300.0.0/20",
     "environments.production.digitalocean.vpcCidr"),
    ("node-min-above-max", "staging", "digitalocean.nodePool.min", 9, "environments.staging.digitalocean.nodePool.min"),
    ("database-cidr-host-bits", "production", "database.cidr", "10.120.0.5/20",
     "environments.production.database.cidr"),
    ("kind-without-database", "local", "database.cidr", None, "environments.local.database.cidr"),
    ("kind-without-context", "local", "kubeContext", None, "environments.local.kubeContext"),
]


@pytest.mark.parametrize(("env", "key", "value", "expected"), [c[1:] for c in BAD_CONFIG],
                         ids=[c[0] for c in BAD_CONFIG])
def test_contradicting_config_is_refused_naming_the_key(tmp_path: Path, env: str, key: str, value: Any,
                                                        expected: str) -> None:
    data = yamlfile.load(ENVIRONMENTS_FILE)
    node = data["environments"][env]
    *parents, leaf = key.split(".")
    for part in parents:
        node = node[part]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    path = tmp_path / "environments.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(EnvironmentError, match=expected.replace(".", r"\.").replace("/", "/")):
        envs.load(path)


def test_doks_facts_derive_context_registry_pull_secret_and_endpoint() -> None:
    production = envs.get("production")
    assert production.digitalocean is not None
    assert production.kube_context == f"do-{production.digitalocean.region}-{production.digitalocean.cluster}"
    assert production.pull_secrets == (f"registry-{production.digitalocean.registry}",)
    assert production.image_registry == f"registry.digitalocean.com/{production.digitalocean.registry}"
    assert production.database_cidr == production.digitalocean.vpc_cidr


@pytest.mark.parametrize(("fact", "expected"), [
    ("cluster", lambda e: e.digitalocean.cluster), ("kube-context", lambda e: e.kube_context),
    ("vpc-cidr", lambda e: e.digitalocean.vpc_cidr), ("pull-secrets", lambda e: e.digitalocean.pull_secret),
    ("loki-bucket", lambda e: f"{e.digitalocean.spaces_bucket_prefix}-loki"),
])
def test_envs_prints_one_fact_for_a_workflow_step(capsys: pytest.CaptureFixture[str], fact: str,
                                                  expected: Callable[[envs.Environment], str]) -> None:
    assert commands_envs.run(argparse.Namespace(env="staging", get=fact)) == 0
    assert capsys.readouterr().out.strip() == expected(envs.get("staging"))


def test_envs_refuses_a_doks_fact_of_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert commands_envs.run(argparse.Namespace(env="local", get="cluster")) == 1
    assert "has no cluster" in capsys.readouterr().err
