"""Profiles of production (config/profiles.yaml): each is one values layer, applied whole or refused, and
renders what its entry says it keeps or gives up."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from todo_cloud import deps, envs, profiles, yamlfile
from todo_cloud.envs import PROFILE_VALUES
from todo_cloud.gates import data
from todo_cloud.manifests import Manifest
from todo_cloud.paths import UMBRELLA
from todo_cloud.render import RenderError, find, render_chart, render_environment

PRODUCTION = envs.get("production")


@pytest.fixture(scope="module", params=list(profiles.all_profiles()))
def profile_release(request: pytest.FixtureRequest, upstream_charts: deps.DepsStatus) -> tuple[str, list[Manifest]]:
    del upstream_charts
    return request.param, render_environment("production", profile=request.param)


def test_every_profile_has_its_layer_and_every_layer_its_entry() -> None:
    assert sorted(p.stem for p in PROFILE_VALUES.glob("*.yaml")) == sorted(profiles.all_profiles())


def test_production_names_a_profile_and_renders_with_its_layer_first() -> None:
    profile = profiles.in_use(PRODUCTION)
    assert profile is not None
    assert PRODUCTION.values_files == (profile.values_file, PRODUCTION.values_file)


@pytest.mark.parametrize("env", [e for e in envs.names() if e != "production"])
def test_other_environments_run_no_profile(env: str) -> None:
    assert envs.get(env).values_files == (envs.get(env).values_file,)


def _replicas(docs: list[Manifest], kind: str, name: str) -> int:
    [doc] = find(docs, kind, name)
    return int(doc["spec"].get("replicas", 1))


def test_each_profile_renders_what_its_entry_promises(profile_release: tuple[str, list[Manifest]]) -> None:
    """HA: two Prometheus, three Alertmanagers, the Dapr control plane in HA, Cruise Control, traces on a
    volume; seed-budget gives each of those up (its `givesUp` list), Kafka's three brokers stay."""
    name, docs = profile_release
    ha = profiles.get(name).ha_control_plane
    assert _replicas(docs, "Prometheus", "todo-chatbot-kube-promethe-prometheus") == (2 if ha else 1)
    assert _replicas(docs, "Alertmanager", "todo-chatbot-kube-promethe-alertmanager") == (3 if ha else 1)
    for deployment in ("dapr-operator", "dapr-sentry", "dapr-sidecar-injector"):
        assert _replicas(docs, "Deployment", deployment) == (3 if ha else 1), deployment
    [kafka] = find(docs, "Kafka", "todo-chatbot-kafka")
    assert ("cruiseControl" in kafka["spec"]) is ha
    assert bool(find(docs, "PersistentVolumeClaim", "todo-chatbot-jaeger-badger")) is ha
    assert _replicas(docs, "KafkaNodePool", "dual-role") == 3


def test_a_single_replica_gets_no_disruption_budget_that_would_block_node_drains(
        profile_release: tuple[str, list[Manifest]]) -> None:
    _, docs = profile_release
    for kind, name in (("Prometheus", "todo-chatbot-kube-promethe-prometheus"),
                       ("Alertmanager", "todo-chatbot-kube-promethe-alertmanager")):
        assert bool(find(docs, "PodDisruptionBudget", name)) is (_replicas(docs, kind, name) > 1), kind


def test_a_profile_named_but_not_among_the_values_files_is_refused(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    with pytest.raises(RenderError, match=rf"profile.name: \"{PRODUCTION.profile}\", but "
                                          rf"values/profiles/{PRODUCTION.profile}.yaml is not among the values files"):
        render_chart(UMBRELLA, [PRODUCTION.values_file], release=PRODUCTION.release, namespace=PRODUCTION.namespace)


def test_a_profile_layer_without_an_environment_naming_it_is_refused(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    layer = profiles.get("ha").values_file
    with pytest.raises(RenderError, match=r"profile.applied: \"ha\", but the environment's file names no profile"):
        render_chart(UMBRELLA, [layer, envs.get("staging").values_file], release="todo-chatbot",
                     namespace="todo-chatbot")


@pytest.mark.parametrize(("text", "rule", "message"), [
    ("profile: {applied: other}\n", "profile-layer", "profile.applied: is 'other', expected 'mine'"),
    ("profile: {applied: mine}\nglobal: {environment: production}\n", "profile-layer",
     "global.environment: a profile names no environment"),
    ("profile: {applied: mine}\nredis: {}\n", "override-only", "redis: not a key of the umbrella's values.yaml"),
], ids=["applied-names-another", "names-an-environment", "adds-a-key"])
def test_a_bad_profile_layer_is_a_finding_naming_the_key(text: str, rule: str, message: str) -> None:
    defaults = yamlfile.load(UMBRELLA / "values.yaml")
    findings = data.profile_findings("mine", yaml.safe_load(text), defaults)
    assert [(f.where, f.rule, f.message) for f in findings] == [("values/profiles/mine.yaml", rule, message)]


def test_the_committed_profile_layers_pass_the_values_gate() -> None:
    layers = {str(f.where) for f in data.check_data()}
    assert not {w for w in layers if w.startswith("values/profiles/")}


def test_an_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(profiles.UnknownProfile, match=r"unknown profile 'gold'; config/profiles.yaml defines "):
        profiles.values_files(PRODUCTION, "gold")


def test_another_profile_of_production_is_its_layer_its_file_and_the_selection(tmp_path: Path) -> None:
    other = next(p for p in profiles.all_profiles() if p != PRODUCTION.profile)
    files = profiles.values_files(PRODUCTION, other)
    assert files[:2] == (profiles.get(other).values_file, PRODUCTION.values_file)
    assert yamlfile.load(files[2]) == {"profile": {"name": other}}
