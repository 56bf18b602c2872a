"""The GitHub workflows: actions pinned by commit, least privilege, one deploy per environment at a time,
secrets only from environments, production behind its approval environment; a deploy only for a commit of
main whose CI passed; Python and Go from versions.toml; the simulated cluster in CI, its build cached; the
reference images tested, built, pushed and deployed by digest; production's upstream pins proposed by a
scheduled pull request; and actionlint clean (checkov's GitHub Actions checks run in `make policy`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from todo_cloud import versions, yamlfile
from todo_cloud.commands.lint import actionlint_command
from todo_cloud.paths import REPO
from todo_cloud.run import run

WORKFLOWS = REPO / ".github" / "workflows"
ACTIONS = REPO / ".github" / "actions"
FILES = sorted(WORKFLOWS.glob("*.yml"))
ACTION_FILES = sorted(ACTIONS.glob("*/action.yml"))
PINNED = re.compile(r"^\s*(?:-\s*)?uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")
TOOLCHAIN = "./.github/actions/toolchain"
HEAD_SHA = "${{ github.event.workflow_run.head_sha }}"


def load(path: Path) -> dict[str, Any]:
    doc = yamlfile.load(path)
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


@pytest.fixture(scope="module")
def workflows() -> dict[str, dict[str, Any]]:
    return {p.stem: load(p) for p in FILES}


@pytest.fixture(scope="module")
def toolchain() -> dict[str, Any]:
    return yamlfile.load(ACTIONS / "toolchain" / "action.yml")


def steps_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def runs(job: dict[str, Any]) -> list[str]:
    return [s.get("run", "") for s in steps_of(job)]


def index_of(job: dict[str, Any], text: str) -> int:
    """Index of the first step whose `run` or `uses` contains `text`."""
    return next(i for i, s in enumerate(steps_of(job)) if text in s.get("run", "") + s.get("uses", ""))


@pytest.mark.parametrize("path", FILES + ACTION_FILES, ids=lambda p: p.relative_to(REPO / ".github").as_posix())
def test_every_action_is_pinned_by_full_commit_sha_with_its_version(path: Path):
    uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s*)?uses:", line)]
    for line in uses:
        if line.split("uses:", 1)[1].strip().startswith("./"):
            continue  # a workflow or action of this repository, pinned by the commit it runs at
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


def test_only_the_pin_job_may_write_and_only_what_a_pull_request_needs(workflows):
    writers = {(w, name): job["permissions"] for w, doc in workflows.items() for name, job in doc["jobs"].items()
               if "permissions" in job}
    assert writers == {("pin-images", "pin"): {"contents": "write", "pull-requests": "write", "actions": "write"}}


# --- Python and Go from versions.toml ------------------------------------------------------------------------


def test_the_versions_step_prints_what_versions_toml_pins() -> None:
    proc = run([sys.executable, "-m", "todo_cloud.bootstrap", "--versions"], cwd=REPO,
               env={"PYTHONPATH": str(REPO / "scripts"), "PATH": "/usr/bin:/bin"})
    pins = versions.load()
    assert proc.stdout.splitlines() == [f"python={pins['python']['version']}", f"go={pins['go']['version']}"]


def test_python_and_go_are_installed_at_the_versions_the_versions_step_read(toolchain):
    steps = toolchain["runs"]["steps"]
    assert steps[0]["id"] == "versions"
    assert steps[0]["run"] == 'PYTHONPATH=scripts python3 -m todo_cloud.bootstrap --versions | tee -a "$GITHUB_OUTPUT"'
    setup = {s["uses"].split("@")[0]: s["with"] for s in steps if "uses" in s and "setup-" in s["uses"]}
    assert setup["actions/setup-python"]["python-version"] == "${{ steps.versions.outputs.python }}"
    assert setup["actions/setup-go"]["go-version"] == "${{ steps.versions.outputs.go }}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_workflow_states_a_python_or_go_version_of_its_own(path: Path):
    text = path.read_text()
    assert "python-version" not in text and "go-version" not in text and "setup-python" not in text


def test_every_job_that_runs_make_gets_its_toolchain_from_versions_toml(workflows):
    for w, doc in workflows.items():
        for name, job in doc["jobs"].items():
            if any("make " in r or ".venv/bin/" in r for r in runs(job)):
                assert any(s.get("uses") == TOOLCHAIN for s in steps_of(job)), f"{w} job {name}"


# --- CI: the suite with nothing skipped that this machine kind can have ------------------------------------


def test_ci_runs_the_make_targets_of_a_workstation(workflows):
    job = workflows["ci"]["jobs"]["test"]
    for target in ("make bootstrap", "make deps", "make prereqs", "make lint", "make test", "make policy",
                   "make report"):
        assert any(target in r for r in runs(job)), target
    assert index_of(job, "make prereqs") < index_of(job, "make test")
    uploads = [s for s in steps_of(job) if "upload-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["if"] == "always()"


@pytest.mark.parametrize(("workflow", "job"), [("ci", "test"), ("release", "publish")])
def test_the_full_suite_runs_with_the_history_and_the_prerequisites_cache(workflows, workflow: str, job: str):
    steps = steps_of(workflows[workflow]["jobs"][job])
    assert steps[0]["with"]["fetch-depth"] == 0, "the upgrade drill needs the previous commit of charts/"
    assert next(s for s in steps if s.get("uses") == TOOLCHAIN)["with"] == {"prereqs-cache": "true"}


def test_the_simulated_clusters_build_is_cached_by_what_it_is_built_from(toolchain):
    caches = {s["with"]["path"]: s for s in toolchain["runs"]["steps"] if "actions/cache" in s.get("uses", "")}
    sim = caches["~/.cache/todo-chatbot-cloud/sim"]
    assert sim["if"] == "inputs.prereqs-cache == 'true'"
    assert "${{ steps.versions.outputs.go }}" in sim["with"]["key"]
    assert "hashFiles('tools/sim/build/**', 'tools/sim/build.sh')" in sim["with"]["key"]
    assert sorted(p.name for p in (REPO / "tools" / "sim" / "build").rglob("*") if p.is_file()) == [
        "go.mod", "go.mod", "go.sum", "go.sum", "tools.go", "tools.go"], "the key hashes the sim's go.mod/go.sum"
    go_bin = caches["~/.cache/todo-chatbot-cloud/go-bin"]["with"]
    assert "hashFiles('versions.toml')" in go_bin["key"] and go_bin["key"].startswith(go_bin["restore-keys"])


# --- deploys: only a commit whose CI passed ----------------------------------------------------------------


def test_the_pipeline_starts_only_when_ci_completes_on_main(workflows):
    assert workflows["deploy"]["on"] == {"workflow_run": {"workflows": ["ci"], "types": ["completed"],
                                                          "branches": ["main"]}}


def test_nothing_is_deployed_unless_ci_passed_for_a_push_and_the_commit_is_still_the_tip(workflows):
    jobs = workflows["deploy"]["jobs"]
    newest = jobs["newest"]
    assert newest["if"] == ("github.event.workflow_run.conclusion == 'success' && "
                            "github.event.workflow_run.event == 'push'")
    assert newest["steps"][0]["env"]["SHA"] == HEAD_SHA
    assert jobs["images"]["needs"] == "newest" and jobs["images"]["if"] == "needs.newest.outputs.deploy == 'true'"
    # every later job hangs off it, so a skipped gate skips the whole pipeline
    assert jobs["staging"]["needs"] == "images" and jobs["production"]["needs"] == ["images", "staging"]


def test_what_ci_tested_is_what_is_built_and_deployed(workflows):
    jobs = workflows["deploy"]["jobs"]
    assert jobs["images"]["with"] == {"ref": HEAD_SHA}
    for env in ("staging", "production"):
        assert jobs[env]["uses"] == "./.github/workflows/deploy-environment.yml"
        assert jobs[env]["with"]["environment"] == env and jobs[env]["with"]["platform-ref"] == HEAD_SHA
        assert jobs[env]["with"]["image-archive"] == "${{ needs.images.outputs.archive }}"


def test_staging_runs_the_built_images_by_digest_production_what_its_values_pin(workflows):
    jobs = workflows["deploy"]["jobs"]
    assert jobs["staging"]["with"]["images"] == "${{ needs.images.outputs.images }}"
    assert "images" not in jobs["production"]["with"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_workflow_but_the_reusable_one_deploys(path: Path):
    if path.stem == "deploy-environment":
        return
    assert "todo-cloud deploy" not in path.read_text() and "make deploy" not in path.read_text()


def test_deploys_run_one_at_a_time_per_environment_and_are_never_cancelled(workflows):
    job = workflows["deploy-environment"]["jobs"]["deploy"]
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["concurrency"] == {"group": "deploy-${{ inputs.environment }}", "cancel-in-progress": False}


def test_the_reusable_deploy_takes_environment_and_images_as_digests(workflows):
    inputs = workflows["deploy-environment"]["on"]["workflow_call"]["inputs"]
    assert inputs["environment"]["required"] is True
    assert "sha256" in inputs["images"]["description"]
    job = workflows["deploy-environment"]["jobs"]["deploy"]
    assert any("todo-cloud deploy" in r and "--dry-run" in r for r in runs(job))
    assert any("todo-cloud deploy" in r and "--dry-run" not in r and '--image "$image"' in r for r in runs(job))


def test_the_built_images_reach_the_environments_registry_before_the_deploy(workflows):
    jobs = workflows["deploy-environment"]["jobs"]
    job = jobs["push-images"]
    fetch = steps_of(job)[index_of(job, "actions/download-artifact")]
    push = steps_of(job)[index_of(job, "todo-cloud images push")]
    assert job["if"] == "inputs.image-archive != ''" and job["environment"] == "${{ inputs.environment }}"
    assert fetch["with"] == {"name": "${{ inputs.image-archive }}", "path": "${{ runner.temp }}/images"}
    assert index_of(job, "actions/download-artifact") < index_of(job, "todo-cloud images push")
    assert push["run"] == '.venv/bin/todo-cloud images push --out "$RUNNER_TEMP/images" --env "$ENVIRONMENT"'
    assert push["env"]["TODO_CLOUD_REGISTRY_PASSWORD"] == "${{ secrets.DIGITALOCEAN_ACCESS_TOKEN }}"
    deploy = jobs["deploy"]
    assert deploy["needs"] == "push-images"
    # the deploy runs after a successful push, or without one, never after a failed one
    assert "needs.push-images.result == 'success'" in deploy["if"]
    assert "needs.push-images.result == 'skipped'" in deploy["if"] and "failure" not in deploy["if"]
    assert not any("images push" in r for r in runs(deploy))


def test_after_a_deploy_the_node_figures_are_compared_without_writing_or_failing_it(workflows):
    job = workflows["deploy-environment"]["jobs"]["deploy"]
    steps = steps_of(job)
    deploy = next(i for i, r in enumerate(runs(job)) if "todo-cloud deploy" in r and "--dry-run" not in r)
    check = index_of(job, "todo-cloud nodes")
    assert check > deploy
    assert steps[check]["continue-on-error"] is True
    assert "--write" not in runs(job)[check] and '--kubeconfig "$RUNNER_TEMP/kubeconfig"' in runs(job)[check]


# --- the reference images: test -> build -> check -> record ------------------------------------------------


def test_the_images_are_tested_built_checked_and_recorded_in_that_order(workflows):
    job = workflows["images"]["jobs"]["build"]
    order = [index_of(job, text) for text in ("todo-cloud test --suite workloads", "todo-cloud images build",
                                               "todo-cloud images check", "GITHUB_STEP_SUMMARY",
                                               "actions/upload-artifact")]
    assert order == sorted(order)
    build = steps_of(job)[order[1]]
    assert '--out out/images --tag "$TAG"' in build["run"] and build["env"]["TAG"] == "${{ inputs.ref }}"
    upload = steps_of(job)[order[-1]]["with"]
    assert (upload["name"], upload["path"], upload["if-no-files-found"]) == (
        "images-${{ inputs.ref }}", "out/images/", "error")
    assert job["outputs"]["archive"] == "images-${{ inputs.ref }}"
    assert job["outputs"]["images"] == "${{ steps.build.outputs.images }}"
    assert "secrets." not in (WORKFLOWS / "images.yml").read_text()


# --- production's upstream pins without a person in the loop ---------------------------------------------


def test_the_pins_are_refreshed_weekly_and_when_the_versions_change(workflows):
    on = workflows["pin-images"]["on"]
    assert [s["cron"] for s in on["schedule"]] == ["23 5 * * 1"]
    assert on["push"] == {"branches": ["main"], "paths": ["versions.toml", "config/image-pins.yaml"]}
    assert "workflow_dispatch" in on


def test_the_pin_job_pins_production_and_proposes_only_the_values_file(workflows):
    job = workflows["pin-images"]["jobs"]["pin"]
    assert "make pin-images ENV=production" in runs(job)
    pr = steps_of(job)[index_of(job, "peter-evans/create-pull-request")]
    assert index_of(job, "make pin-images") < index_of(job, "peter-evans/create-pull-request")
    assert (pr["with"]["add-paths"], pr["with"]["branch"], pr["with"]["base"]) == (
        "values/production.yaml", "automation/pin-images", "main")
    assert "token" not in pr["with"], "the job's own token, with the job's permissions"


def test_ci_runs_on_the_pull_request_the_pin_job_opens(workflows):
    job = workflows["pin-images"]["jobs"]["pin"]
    dispatch = steps_of(job)[index_of(job, "gh workflow run")]
    assert dispatch["run"] == 'gh workflow run ci.yml --repo "$REPOSITORY" --ref automation/pin-images'
    assert "pull-request-operation" in dispatch["if"]
    assert "workflow_dispatch" in workflows["ci"]["on"]


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


def test_release_publishes_on_a_version_tag_from_its_environment(workflows):
    release = workflows["release"]
    assert release["on"]["push"]["tags"] == ["v*.*.*"]
    job = release["jobs"]["publish"]
    assert job["environment"] == "chart-registry"
    assert [s["run"] for s in job["steps"] if "make publish" in s.get("run", "")]


def test_actionlint_finds_nothing(prerequisite):
    prerequisite("actionlint")
    proc = run(actionlint_command(WORKFLOWS), check=False, cwd=REPO, timeout=120)  # type: ignore[arg-type]
    assert proc.returncode == 0, proc.stdout + proc.stderr
