"""The GitHub workflows: actions pinned by commit, least privilege, one deploy per environment at a time,
secrets only from environments, production behind its approval environment, and actionlint clean
(checkov's GitHub Actions checks run in `make policy`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from todo_cloud import tools
from todo_cloud.paths import REPO
from todo_cloud.run import run

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    return {p.stem: load(p) for p in FILES}


def test_the_four_workflows_exist(workflows):
    assert {"ci", "release", "deploy", "deploy-environment"} <= set(workflows)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_full_commit_sha_with_its_version(path: Path):
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s*)?uses:", line)]
    for line in uses:
        if line.split("uses:", 1)[1].strip().startswith("./"):
            continue  # a workflow of this repository, pinned by the commit it runs at
        assert PINNED.match(line), f"{path.name}: not pinned by commit sha with a `# vX.Y.Z` comment: {line.strip()}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_top_level_permissions_are_read_only(path: Path):
    assert load(path)["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_secrets_are_used_only_in_jobs_of_an_environment(path: Path):
    for name, job in load(path)["jobs"].items():
        if "${{ secrets." in yaml.safe_dump(job, width=10_000):
            assert job.get("environment"), f"{path.name} job {name} reads secrets outside an environment"
    assert "secrets: inherit" not in path.read_text()


def test_deploys_run_one_at_a_time_per_environment_and_are_never_cancelled(workflows):
    job = workflows["deploy-environment"]["jobs"]["deploy"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}


def test_the_reusable_deploy_takes_environment_and_images_as_digests(workflows):
    inputs = workflows["deploy-environment"]["on"]["workflow_call"]["inputs"]
    assert inputs["environment"]["required"] is True
    assert "sha256" in inputs["images"]["description"]
    steps = workflows["deploy-environment"]["jobs"]["deploy"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any("todo-cloud deploy" in r and "--dry-run" in r for r in runs)
    assert any("todo-cloud deploy" in r and "--dry-run" not in r and '--image "$image"' in r for r in runs)


def test_after_a_deploy_the_node_figures_are_compared_without_writing_or_failing_it(workflows):
    steps = workflows["deploy-environment"]["jobs"]["deploy"]["steps"]
    runs = [s.get("run", "") for s in steps]
    deploy = next(i for i, r in enumerate(runs) if "todo-cloud deploy" in r and "--dry-run" not in r)
    check = next(i for i, r in enumerate(runs) if "todo-cloud nodes" in r)
    assert check > deploy
    assert steps[check]["continue-on-error"] is True
    assert "--write" not in runs[check] and '--kubeconfig "$RUNNER_TEMP/kubeconfig"' in runs[check]


def test_the_deploy_job_authenticates_as_the_deploy_identity_never_with_a_digitalocean_token(workflows):
    """The kubeconfig comes from the DEPLOY_KUBECONFIG secret (todo-cloud rbac kubeconfig --identity deploy);
    no DigitalOcean API token, from which an admin kubeconfig could be had, reaches the job."""
    job = workflows["deploy-environment"]["jobs"]["deploy"]
    text = yaml.safe_dump(job, width=10_000)
    assert "DIGITALOCEAN_ACCESS_TOKEN" not in text and "doctl" not in text
    writes = [s for s in job["steps"] if "secrets.DEPLOY_KUBECONFIG" in yaml.safe_dump(s.get("env") or {})]
    assert len(writes) == 1 and 'umask 077' in writes[0]["run"] and '"$RUNNER_TEMP/kubeconfig"' in writes[0]["run"]
    assert all('--kubeconfig "$RUNNER_TEMP/kubeconfig"' in s["run"] for s in job["steps"]
               if "todo-cloud deploy" in s.get("run", "") or "todo-cloud nodes" in s.get("run", ""))


def test_staging_deploys_from_main_and_production_only_after_it(workflows):
    deploy = workflows["deploy"]
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["staging"]["with"]["environment"] == "staging"
    assert jobs["production"]["with"]["environment"] == "production"
    assert jobs["production"]["needs"] == "staging"


def test_release_publishes_on_a_version_tag_from_its_environment(workflows):
    release = workflows["release"]
    assert release["on"]["push"]["tags"] == ["v*.*.*"]
    job = release["jobs"]["publish"]
    assert job["environment"] == "chart-registry"
    assert [s["run"] for s in job["steps"] if "make publish" in s.get("run", "")]


def test_ci_runs_the_make_targets_of_a_workstation(workflows):
    runs = "\n".join(s.get("run", "") for s in workflows["ci"]["jobs"]["test"]["steps"])
    for target in ("make bootstrap", "make lint", "make test", "make policy", "make report"):
        assert target in runs
    uploads = [s for s in workflows["ci"]["jobs"]["test"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["if"] == "always()"


def test_actionlint_finds_nothing():
    try:
        actionlint = tools.go_tool("actionlint")
    except tools.ToolError as exc:
        pytest.skip(str(exc))
    proc = run([actionlint, "-no-color", *FILES], check=False, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
