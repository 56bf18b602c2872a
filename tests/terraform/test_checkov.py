"""checkov over terraform/ with the custom DOKS checks of policy/checkov/terraform.

One checkov run covers every case (it is slow to start): terraform/ with the variables' defaults, a copy
per environment with its tfvars as terraform.tfvars, and checkov_cases/ (resources breaking one rule
each), all under one folder. The result is cached under .cache/terraform by the hash of everything it
read, and shared by the workers.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from todo_cloud import envs, profiles, terraform
from todo_cloud.paths import CACHE, REPO, TERRAFORM, TOOLS
from todo_cloud.run import run

CHECKOV = TOOLS / "venvs" / "checkov" / "bin" / "checkov"
CHECKS = REPO / "policy" / "checkov" / "terraform"
CASES = Path(__file__).parent / "checkov_cases"
CUSTOM = ("CKV_TODO_DOKS_1", "CKV_TODO_DOKS_2", "CKV_TODO_DOKS_3", "CKV_TODO_DOKS_4")

# resource in checkov_cases/ -> the custom checks it must fail (and no other).
EXPECTED_FAILURES = {
    "digitalocean_kubernetes_cluster.good": set(),
    "digitalocean_kubernetes_cluster.single_control_plane": {"CKV_TODO_DOKS_1"},
    "digitalocean_kubernetes_cluster.no_surge": {"CKV_TODO_DOKS_2"},
    "digitalocean_kubernetes_cluster.no_auto_upgrade": {"CKV_TODO_DOKS_3"},
    "digitalocean_kubernetes_cluster.no_maintenance_window": {"CKV_TODO_DOKS_3"},
    "digitalocean_kubernetes_cluster.min_above_max": {"CKV_TODO_DOKS_4"},
    "digitalocean_kubernetes_cluster.fixed_size": {"CKV_TODO_DOKS_4"},
    "digitalocean_kubernetes_node_pool.good": set(),
    "digitalocean_kubernetes_node_pool.single_node": {"CKV_TODO_DOKS_4"},
}


def _inputs() -> list[Path]:
    found = [*TERRAFORM.glob("*.tf"), *TERRAFORM.glob("environments/*.tfvars"), *CHECKS.glob("*.py"),
             *CASES.glob("*.tf"), REPO / "tools" / "checkov.lock"]
    return sorted(p for p in found if p.is_file())


def _scan(work: Path) -> dict[str, list[dict[str, Any]]]:
    """Run checkov once over a folder holding every target; results by target, each a list of records.

    One root folder rather than one --directory per target: with several, checkov reports every file
    under the first one. Each target folder is its own module, with its own terraform.tfvars.
    """
    root = work / "targets"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(TERRAFORM, root / "defaults", ignore=shutil.ignore_patterns(".terraform*", "environments"))
    shutil.copytree(CASES, root / "cases")
    for env in terraform.environments():
        shutil.copytree(root / "defaults", root / env)
        shutil.copy2(terraform.tfvars(env), root / env / "terraform.tfvars")
    # cwd outside the repo: checkov would otherwise read the repo's .checkov.yaml (todo-cloud policy's).
    proc = run([CHECKOV, "--framework", "terraform", "--skip-download", "--output", "json",
                "--external-checks-dir", CHECKS, "--directory", root], check=False, timeout=600, cwd=work)
    if proc.returncode not in (0, 1):
        raise AssertionError(f"checkov failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    results: dict[str, list[dict[str, Any]]] = {p.name: [] for p in root.iterdir()}
    for status in ("passed_checks", "failed_checks", "skipped_checks"):
        for record in report["results"].get(status, []):
            record["status"] = status.split("_")[0]
            results[Path(record["file_abs_path"]).relative_to(root).parts[0]].append(record)
    return results


@pytest.fixture(scope="session")
def scans(prerequisite: Callable[[str], Path]) -> dict[str, list[dict[str, Any]]]:
    """The checkov records of every target, computed once per content of the inputs."""
    assert prerequisite("checkov") == CHECKOV
    digest = hashlib.sha256()
    for path in _inputs():
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    folder = CACHE / "terraform"
    folder.mkdir(parents=True, exist_ok=True)
    cached = folder / f"checkov-{digest.hexdigest()[:16]}.json"
    with (folder / "checkov.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.is_file():
            cached.write_text(json.dumps(_scan(folder / "checkov-work")))
    return json.loads(cached.read_text())


def _by_status(records: list[dict[str, Any]], status: str) -> set[tuple[str, str]]:
    return {(r["check_id"], r["resource"]) for r in records if r["status"] == status}


# The HA control plane check, failed on purpose by a design without one (it saves $40 a month).
HA_CHECK = "CKV_TODO_DOKS_1"


def production_gives_up() -> set[str]:
    """Checks production fails by design: the HA control plane check when the profile values/production.yaml
    names runs without one (config/profiles.yaml `haControlPlane`)."""
    profile = profiles.in_use(envs.get("production"))
    return set() if profile is None or profile.ha_control_plane else {HA_CHECK}


def test_no_check_fails_with_the_defaults(scans: dict[str, list[dict[str, Any]]]) -> None:
    assert _by_status(scans["defaults"], "failed") == set()


def test_production_fails_only_what_its_profile_gives_up(scans: dict[str, list[dict[str, Any]]]) -> None:
    assert _by_status(scans["production"], "failed") == {
        (check, "digitalocean_kubernetes_cluster.this") for check in production_gives_up()}


@pytest.mark.parametrize("check_id", CUSTOM)
def test_custom_check_passes_on_production_unless_its_profile_gives_it_up(
        scans: dict[str, list[dict[str, Any]]], check_id: str) -> None:
    status = "failed" if check_id in production_gives_up() else "passed"
    assert (check_id, "digitalocean_kubernetes_cluster.this") in _by_status(scans["production"], status)


def test_staging_fails_only_the_ha_control_plane_check(scans: dict[str, list[dict[str, Any]]]) -> None:
    # Staging runs a single control plane on purpose (HA costs $40/month); the check sees it.
    assert _by_status(scans["staging"], "failed") == {(HA_CHECK, "digitalocean_kubernetes_cluster.this")}


def test_every_suppression_is_inline_with_a_reason(scans: dict[str, list[dict[str, Any]]]) -> None:
    skipped = [r for r in scans["defaults"] if r["status"] == "skipped"]
    assert {(r["check_id"], r["resource"]) for r in skipped} == {("CKV_DIO_1", "digitalocean_spaces_bucket.loki")}
    for record in skipped:
        assert len((record.get("check_result", {}).get("suppress_comment") or "").split()) >= 5, record["check_id"]


@pytest.mark.parametrize("resource", sorted(EXPECTED_FAILURES))
def test_custom_checks_fail_exactly_the_broken_rule(scans: dict[str, list[dict[str, Any]]], resource: str) -> None:
    records = [r for r in scans["cases"] if r["resource"] == resource and r["check_id"] in CUSTOM]
    assert records, f"no custom check ran on {resource}"
    failed = {r["check_id"] for r in records if r["status"] == "failed"}
    assert failed == EXPECTED_FAILURES[resource]
