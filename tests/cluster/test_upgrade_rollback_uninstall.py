"""Life of the release on the simulated cluster, in order: a failed upgrade that Helm rolls back by itself,
the rollback drill of the deploy command, an uninstall that leaves only what is documented, then an upgrade
from the previous commit's chart (rendered from a git worktree) to this tree. Deploys and rollbacks run as
the identity the release was deployed with (the deploy ServiceAccount where CI deploys); the uninstall and
the previous chart's install are the admin's."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.cluster.support import KNOWN_FINDINGS, Deployment, deploy, helm
from todo_cloud import deps, versions, yamlfile
from todo_cloud.deploy import plan as planning
from todo_cloud.deploy import rbac
from todo_cloud.deploy.execute import Outcome, rollback
from todo_cloud.deploy.runner import ToolRunner
from todo_cloud.envs import profile_named, profile_values_files
from todo_cloud.paths import REPO
from todo_cloud.run import run
from todo_cloud.sim import cluster as sim

# An upgrade that can never become healthy: kube-state-metrics asks for a node label no node has.
UNSCHEDULABLE = {"kube-prometheus-stack": {"kube-state-metrics": {"nodeSelector": {"todo-sim/nowhere": "true"}}}}
# What an uninstall leaves on purpose (docs/CLUSTER-TESTS.md 'Uninstall'): volumes' claims (data outlives the
# release), the CRDs (applied by the deploy, not owned by Helm), the identities' Roles and bindings
# (todo-cloud rbac), and what exists in any namespace anyway.
KEPT_KINDS = {"PersistentVolumeClaim"}
ALWAYS_THERE = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}
# Environments whose drills run (comma-separated, or "all"): every one in `make test`; a person narrows it for a
# quicker run of the cluster suite, and the drills of the others then skip, saying that they were left out.
LIFECYCLE_VAR = "TODO_CLOUD_SIM_LIFECYCLE"
LIFECYCLE_DEFAULT = "all"
NAMESPACED = "configmaps,secrets,services,serviceaccounts,deployments,statefulsets,daemonsets,jobs,pods,roles," \
             "rolebindings,persistentvolumeclaims,networkpolicies,poddisruptionbudgets"


@pytest.fixture(autouse=True)
def _lifecycle_env(sim_cluster: sim.Cluster) -> None:
    """These drills cost ~2.5 min per environment; `make test` runs them for every one (LIFECYCLE_DEFAULT), a
    person may ask for fewer with LIFECYCLE_VAR."""
    chosen = os.environ.get(LIFECYCLE_VAR, LIFECYCLE_DEFAULT)
    if chosen != "all" and sim_cluster.env not in chosen.split(","):
        pytest.skip(f"left out on request: {LIFECYCLE_VAR}={chosen} (unset, the drills run for every environment)")


def _history(deployment: Deployment) -> list[dict]:
    got = helm(deployment.cluster, "history", deployment.env.release, "-n", deployment.env.namespace, "-o", "json")
    assert got.returncode == 0, got.output
    return json.loads(got.output[got.output.index("["):])


def _deployed(deployment: Deployment) -> dict:
    return next(r for r in _history(deployment) if r["status"] == "deployed")


def test_a_failed_upgrade_is_rolled_back_by_helm(deployment: Deployment, tmp_path: Path) -> None:
    assert deployment.result.returncode == 0, "the release did not install; nothing to upgrade"
    before = _deployed(deployment)
    broken = tmp_path / "unschedulable.yaml"
    broken.write_text(yaml.safe_dump(UNSCHEDULABLE))
    got = deploy(deployment.cluster, "--values", broken, "--timeout", "15s", kubeconfig=deployment.kubeconfig)
    assert got.returncode == int(Outcome.FAILED), got.output[-3000:]
    assert "Helm rolled it back" in got.output
    after = _deployed(deployment)
    assert after["revision"] > before["revision"] and "Rollback to" in after["description"]
    ksm = deployment.kubectl_json("get", "deployments", "-n", deployment.env.namespace, "-l",
                                  "app.kubernetes.io/name=kube-state-metrics")["items"]
    assert ksm and all(not d["spec"]["template"]["spec"].get("nodeSelector", {}).get("todo-sim/nowhere") for d in ksm)


def test_the_rollback_drill_returns_to_the_last_good_revision(deployment: Deployment) -> None:
    """The deploy's own rollback (what runs after a failed health check) against the live release."""
    current = _deployed(deployment)
    plan = planning.Plan(deployment.env, False, (), planning.Options(values=(), timeout="2m"))
    messages: list[str] = []
    outcome = rollback(plan, ToolRunner(deployment.kubeconfig), messages.append)
    assert outcome == Outcome.ROLLED_BACK, messages
    after = _deployed(deployment)
    assert after["revision"] == current["revision"] + 1
    assert after["description"].startswith("Rollback to"), after


def _identity_object(obj: dict) -> bool:
    """The deploy and on-call identities' objects (`todo-cloud rbac apply`): an administrator's, not the
    release's; they outlive it (docs/DEPLOYMENT.md 'Who deploys')."""
    labels = obj["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in rbac.LABELS.items())


def _leftovers(deployment: Deployment) -> list[str]:
    found = []
    ours = set(deployment.created_secrets)
    for ns in deployment.env.namespaces:
        items = deployment.kubectl_json("get", NAMESPACED, "-n", ns)["items"]
        for i in items:
            kind, name = i["kind"], i["metadata"]["name"]
            if kind in KEPT_KINDS or (kind, name) in ALWAYS_THERE or ((ns, name) in ours and kind == "Secret") \
                    or _identity_object(i):
                continue
            found.append(f"{kind} {ns}/{name}")
    for kind in ("clusterroles", "clusterrolebindings", "mutatingwebhookconfigurations",
                 "validatingwebhookconfigurations"):
        for i in deployment.kubectl_json("get", kind, "-l", f"app.kubernetes.io/instance={deployment.env.release}")[
                "items"]:
            found.append(f"{i['kind']} {i['metadata']['name']}")
    return found


def test_uninstall_leaves_only_what_is_documented(deployment: Deployment) -> None:
    got = helm(deployment.cluster, "uninstall", deployment.env.release, "-n", deployment.env.namespace,
               "--wait", "--timeout", "2m")
    assert got.returncode == 0, got.output
    deadline = time.monotonic() + 90  # pods go with their ReplicaSets, collected in the background
    while (left := _leftovers(deployment)) and time.monotonic() < deadline:
        time.sleep(2)
    assert not left, f"left behind by `helm uninstall`: {left}"
    crds = deployment.kubectl_json("get", "crds")["items"]
    assert any(c["spec"]["group"] == "kafka.strimzi.io" for c in crds), "the CRDs must outlive the release"


@pytest.fixture(scope="module")
def previous_chart() -> Iterator[tuple[str, Path]]:
    """(commit, worktree) of the newest commit before HEAD that changed the charts or the values, with the
    umbrella's dependencies in place (the same pinned archives where that commit pins the same versions)."""
    got = run(["git", "-C", REPO, "log", "-n1", "--format=%H", "HEAD~1", "--", "charts", "values"], check=False)
    commit = got.stdout.strip()
    shallow = run(["git", "-C", REPO, "rev-parse", "--is-shallow-repository"], check=False).stdout.strip()
    assert got.returncode == 0 and commit, (
        "no earlier commit changing charts/ or values/ in this clone" + (
            ": it is shallow, the drill needs its history (`git fetch --unshallow`; CI checks out with "
            "fetch-depth: 0)" if shallow == "true" else f": {got.stderr.strip()}"))
    folder = Path(tempfile.mkdtemp(prefix="todo-previous-"))
    tree = folder / "tree"
    run(["git", "-C", REPO, "worktree", "add", "--detach", tree, commit])
    try:
        umbrella = tree / "charts" / "todo-chatbot-cloud"
        deps_dir = umbrella / "charts"
        deps_dir.mkdir(exist_ok=True)
        # our own charts, and the library inside them, linked as `make deps` links them
        deps.link_file_dependencies(umbrella)
        for dep in yamlfile.load(umbrella / "Chart.yaml").get("dependencies") or []:
            if str(dep.get("repository", "")).startswith("file://"):
                continue
            archive = REPO / "charts" / "todo-chatbot-cloud" / "charts" / f"{dep['name']}-{dep['version']}.tgz"
            if archive.is_file():
                shutil.copy2(archive, deps_dir)
                continue
            # a version this tree no longer pins: from the chart mirror or upstream, as `make deps` would
            try:
                deps.fetch(versions.UpstreamChart(dep["name"], str(dep["version"]), dep["repository"]), deps_dir)
            except deps.DepsError as exc:
                pytest.fail(f"commit {commit[:10]} pins {dep['name']} {dep['version']}: {exc}", pytrace=False)
        yield commit, tree
    finally:
        run(["git", "-C", REPO, "worktree", "remove", "--force", tree], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def test_an_upgrade_from_the_previous_commit_is_healthy(deployment: Deployment,
                                                        previous_chart: tuple[str, Path]) -> None:
    commit, tree = previous_chart
    env = deployment.env
    if _history_or_empty(deployment):
        helm(deployment.cluster, "uninstall", env.release, "-n", env.namespace, "--wait", "--timeout", "2m")
    old_file = tree / "values" / f"{env.name}.yaml"  # with the profile's layer that tree's file names, if any
    old_values = [a for f in profile_values_files(profile_named(old_file), old_file) for a in ("-f", f)]
    old = helm(deployment.cluster, "upgrade", "--install", env.release, tree / "charts" / "todo-chatbot-cloud",
               "-n", env.namespace, "--kube-context", env.kube_context, "--skip-crds", "--wait=watcher",
               "--timeout", "3m", *old_values, "-f", KNOWN_FINDINGS, timeout=400)
    assert old.returncode == 0, f"the chart of {commit[:10]} did not install: {old.output[-3000:]}"
    got = deploy(deployment.cluster, kubeconfig=deployment.kubeconfig)
    assert got.returncode == 0, f"upgrade from {commit[:10]} to this tree failed:\n{got.output[-4000:]}"
    history = _history(deployment)
    assert [r["status"] for r in history][-2:] == ["superseded", "deployed"], history


def _history_or_empty(deployment: Deployment) -> list[dict]:
    got = helm(deployment.cluster, "history", deployment.env.release, "-n", deployment.env.namespace, "-o", "json")
    return json.loads(got.output[got.output.index("["):]) if got.returncode == 0 else []
