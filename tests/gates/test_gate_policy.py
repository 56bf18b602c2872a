"""`todo-cloud policy`: checkov with .checkov.yaml and the custom checks of policy/checkov/kubernetes over
rendered manifests; every finding names the object and the check, skips carry a reason, and our own
charts pass with no skip."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gates.synthetic_manifests import dapr_component, deployment, kafka_topic
from todo_cloud import envs
from todo_cloud.gates import Finding, checkov, own_object_keys
from todo_cloud.manifests import object_key
from todo_cloud.render import render_environment


@pytest.fixture(scope="module")
def checkov_available(prerequisite: Callable[[str], Path]) -> None:
    prerequisite("checkov")


def test_every_skipped_check_says_where_and_why() -> None:
    assert checkov.skip_entries_without_reason() == []
    listed = checkov.skips()
    assert listed, ".checkov.yaml lists no skip-check entries in the `- ID  # scope: reason` form"
    assert all(len(s.reason) > 20 for s in listed)


def test_our_own_checks_are_never_skipped() -> None:
    skipped = {s.check for s in checkov.skips()}
    assert not {c for c in skipped if c.startswith("CKV_TODO_") and c != "CKV_TODO_K8S_2"}
    assert "CKV_TODO_K8S_2" not in {s.check for s in checkov.skips() if s.scope == "everywhere"}


def broken_release() -> list[dict]:
    """One object per bad input, each named for what is wrong with it."""
    no_resources = deployment("no-resources")
    del no_resources["spec"]["template"]["spec"]["containers"][0]["resources"]
    privileged = deployment("privileged")
    privileged["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] = True
    tag_only = deployment("tag-only", image="registry.example/web:1.0.0")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password", "namespace": "todo-chatbot"},
              "type": "Opaque", "stringData": {"password": "hunter2"}}
    no_namespace = deployment("no-namespace")
    del no_namespace["metadata"]["namespace"]
    return [deployment("clean"), no_resources, privileged, tag_only, secret, no_namespace,
            kafka_topic("under-replicated", replicas=2, min_isr=2), kafka_topic("single", replicas=1, min_isr=1),
            dapr_component(None)]


@pytest.fixture(scope="module")
def synthetic(checkov_available: None) -> checkov.PolicyResult:
    """One checkov run over the broken release in two environments: as our own objects, and (in
    production, names suffixed `-upstream`) as objects of an upstream chart."""
    del checkov_available
    docs = broken_release()
    theirs = copy.deepcopy(docs)
    for d in theirs:
        d["metadata"]["name"] += "-upstream"
    releases = {"staging": copy.deepcopy(docs), "production": copy.deepcopy(docs) + theirs}
    own = {env: {object_key(d) for d in docs} for env in releases}
    return checkov.run_policy(releases, own, include_repo_targets=False)


def checks_on(findings: list[Finding], env: str, name: str) -> set[str]:
    return {f.rule for f in findings if f.where.startswith(f"manifests/{env}/") and f.where.endswith(f".{name}")}


@pytest.mark.parametrize(("name", "checks"), [
    ("no-resources", {"CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"}),
    ("privileged", {"CKV_K8S_16"}),
    ("tag-only", {"CKV_TODO_K8S_1"}),
    ("db-password", {"CKV_TODO_K8S_2"}),
    ("under-replicated", {"CKV_TODO_K8S_3"}),
    ("pubsub", {"CKV_TODO_K8S_4"}),
])
def test_bad_input_is_named_with_object_and_check(synthetic, name: str, checks: set[str]) -> None:  # type: ignore[no-untyped-def]
    ours = synthetic
    assert checks <= checks_on(ours.findings, "production", name), [str(f) for f in ours.findings]


def test_a_finding_names_the_environment_file_and_resource(synthetic) -> None:  # type: ignore[no-untyped-def]
    ours = synthetic
    finding = next(f for f in ours.findings if f.rule == "CKV_K8S_16" and f.where.endswith(".privileged")
                   and "/production/" in f.where)
    assert finding.where.startswith("manifests/production/ours/deployment-privileged.yaml: ")
    assert finding.where.endswith("Deployment.todo-chatbot.privileged")


def test_clean_objects_pass(synthetic) -> None:  # type: ignore[no-untyped-def]
    ours = synthetic
    for name in ("clean", "single"):
        assert checks_on(ours.findings, "production", name) == set()


def test_an_object_without_namespace_is_judged_in_the_release_namespace(synthetic) -> None:  # type: ignore[no-untyped-def]
    ours = synthetic
    assert checks_on(ours.findings, "production", "no-namespace") == set()


def test_image_digests_are_enforced_in_production_only(synthetic) -> None:  # type: ignore[no-untyped-def]
    ours = synthetic
    assert "CKV_TODO_K8S_1" not in checks_on(ours.findings, "staging", "tag-only")
    assert "CKV_K8S_16" in checks_on(ours.findings, "staging", "privileged")


def test_upstream_skips_apply_to_upstream_objects_only(synthetic) -> None:  # type: ignore[no-untyped-def]
    result = synthetic
    assert "CKV_K8S_10" in checks_on(result.findings, "production", "no-resources")
    assert "CKV_K8S_10" not in checks_on(result.findings, "production", "no-resources-upstream")
    assert result.skipped["CKV_K8S_10"] >= 1 and result.skipped["CKV_TODO_K8S_2"] == 1
    # a privileged container is never skipped, whoever renders it
    assert "CKV_K8S_16" in checks_on(result.findings, "production", "privileged-upstream")


@pytest.fixture(scope="module")
def environments_policy(upstream_charts, checkov_available) -> checkov.PolicyResult:  # type: ignore[no-untyped-def]
    """checkov over every environment's release, terraform/ and the workflows (once per run)."""
    del upstream_charts, checkov_available
    names = envs.names()
    return checkov.run_policy({e: render_environment(e) for e in names}, {e: own_object_keys(e) for e in names})


def _show(findings: list[Finding]) -> str:
    return "\n".join(sorted(map(str, findings)))


@pytest.mark.upstream
def test_our_charts_pass_checkov_with_no_skip(environments_policy) -> None:  # type: ignore[no-untyped-def]
    ours = [f for f in environments_policy.findings if "/ours/" in f.where]
    assert ours == [], _show(ours)


@pytest.mark.upstream
def test_upstream_charts_pass_checkov_with_the_listed_skips(environments_policy) -> None:  # type: ignore[no-untyped-def]
    upstream = [f for f in environments_policy.findings if "/upstream/" in f.where and f.rule != "CKV_TODO_K8S_1"]
    assert upstream == [], _show(upstream)


@pytest.mark.upstream
@pytest.mark.xfail(strict=True, reason=(
    "issue 6, blocked here: production's upstream images still run by tag (CKV_TODO_K8S_1). Every one has its "
    "pin key (tests/delivery/test_image_pins.py), but the digests must come from the image registries, "
    "unreachable from this machine: run `make pin-images ENV=production` where they are and commit "
    "values/production.yaml; this test then passes and the marker goes"))
def test_production_images_are_pinned_by_digest(environments_policy) -> None:  # type: ignore[no-untyped-def]
    undigested = [f for f in environments_policy.findings if f.rule == "CKV_TODO_K8S_1"]
    assert undigested == [], _show(undigested)


@pytest.mark.upstream
def test_terraform_and_workflows_pass(environments_policy) -> None:  # type: ignore[no-untyped-def]
    repo = [f for f in environments_policy.findings if not f.where.startswith("manifests/")]
    assert repo == [], _show(repo)


def test_an_object_identical_across_environments_is_written_once_and_stands_for_each(tmp_path) -> None:  # type: ignore[no-untyped-def]
    same, differs = deployment("same"), deployment("differs")
    bigger = copy.deepcopy(differs)
    bigger["spec"]["replicas"] = 3
    stands_for = checkov.write_release_tree(
        tmp_path, {"staging": [same, differs], "production": [copy.deepcopy(same), bigger]},
        {"staging": {object_key(same)}, "production": {object_key(same)}})
    assert stands_for == {"/staging/ours/deployment-same.yaml": ["staging", "production"],
                          "/staging/upstream/deployment-differs.yaml": ["staging"],
                          "/production/upstream/deployment-differs.yaml": ["production"]}
    assert not (tmp_path / "production" / "ours" / "deployment-same.yaml").exists()
