"""Helpers of the cluster tests (kept out of conftest.py so that test modules can import them)."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import envs, tools, yamlfile
from todo_cloud.cluster_shape import KIND_ENVIRONMENTS
from todo_cloud.deploy.preflight import DIGEST_REQUIRED
from todo_cloud.deploy.secrets import release_secrets
from todo_cloud.paths import CHARTS, VENV
from todo_cloud.release import pins
from todo_cloud.render import Manifest
from todo_cloud.run import run
from todo_cloud.sim import cluster as sim

HERE = Path(__file__).parent
# Values added to every deploy of these tests while a known finding is open (each one names its finding).
KNOWN_FINDINGS = HERE / "known-findings.yaml"


def _made_up_digest(image: str) -> str:
    return "sha256:" + hashlib.sha256(f"simulated {image}".encode()).hexdigest()


@cache
def _digests_overlay(env_name: str) -> Path:
    """Values that give `env_name` the digests a real deploy carries there: the upstream images pinned as
    `make pin-images` pins them and the app's images as a promotion writes them (made up: KWOK pulls nothing)."""
    tree: dict[str, Any] = {}
    plan = pins.plan(env_name, lambda repository, tag: _made_up_digest(f"{repository}:{tag}"))
    for key, value in plan.pins.items():
        node = tree
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    components = yamlfile.load(CHARTS / "app" / "values.yaml")["components"]
    tree.setdefault("app", {})["components"] = {c: {"image": {"digest": _made_up_digest(c)}} for c in components}
    path = Path(tempfile.mkdtemp(prefix="todo-sim-digests-")) / f"{env_name}.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def deploy_values(env: envs.Environment) -> list[Path]:
    """What every deploy of these tests adds to the environment's values file: the known findings, and where the
    environment deploys by digest only (the preflight refuses tags and placeholder digests there), the digests."""
    return [KNOWN_FINDINGS, *([_digests_overlay(env.name)] if env.name in DIGEST_REQUIRED else [])]
CLI = VENV / "bin" / "todo-cloud"
# Timeout of each Helm/kubectl step of the deploys here (KWOK pods are Ready within seconds).
DEPLOY_TIMEOUT = "3m"


@dataclass(frozen=True)
class CommandResult:
    """Exit code, combined output and wall time of one CLI or tool run."""

    returncode: int
    output: str
    seconds: float


@dataclass
class Deployment:
    """The release as the deploy command installed it on one simulated cluster."""

    env: envs.Environment
    cluster: sim.Cluster
    manifests: list[Manifest]
    result: CommandResult
    created_secrets: list[tuple[str, str]]
    # The kubeconfig the release was deployed with: the deploy ServiceAccount's where CI deploys the
    # environment (todo-cloud rbac), the admin's for kind (local).
    kubeconfig: Path

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.cluster.kubectl(*args, "-o", "json").stdout)


def cli(*args: str | Path, timeout: float = 900) -> CommandResult:
    """`todo-cloud ARGS`, output (stdout + stderr) captured, exit code kept."""
    start = time.monotonic()
    proc = run([CLI, *args], check=False, timeout=timeout)
    return CommandResult(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start)


def helm(cluster: sim.Cluster, *args: str | Path, timeout: float = 600) -> CommandResult:
    """The pinned helm against `cluster`."""
    start = time.monotonic()
    proc = run([tools.path("helm"), "--kubeconfig", cluster.kubeconfig, *args], check=False, timeout=timeout)
    return CommandResult(proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start)


def create_required_secrets(cluster: sim.Cluster, env: envs.Environment, manifests: list[Manifest]) -> list[
        tuple[str, str]]:
    """Placeholder Secrets for every Secret the release needs but does not create (as an operator would)."""
    refs = sorted({r.ref for r in release_secrets(manifests, env.namespace, [*env.values_files, *deploy_values(env)])})
    cluster.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
                   for ns in sorted({r.namespace for r in refs} - set(env.namespaces))])
    cluster.apply([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": r.name, "namespace": r.namespace},
                    "stringData": {"placeholder": "simulated cluster"}} for r in refs])
    return [(r.namespace, r.name) for r in refs]


def deploy(cluster: sim.Cluster, *extra: str | Path, kubeconfig: Path | None = None) -> CommandResult:
    """`todo-cloud deploy` of the cluster's environment, with the values of `deploy_values` and `extra` args, as
    the identity of `kubeconfig` (default: the admin)."""
    values = [arg for path in deploy_values(envs.get(cluster.env)) for arg in ("--values", path)]
    return cli("deploy", "--env", cluster.env, "--kubeconfig", kubeconfig or cluster.kubeconfig,
               "--timeout", DEPLOY_TIMEOUT, *values, *extra)


def deployed_by_ci(env: envs.Environment) -> bool:
    """Environments the deploy workflow deploys (with the deploy identity): every one not on kind."""
    return env.name not in KIND_ENVIRONMENTS


def identities(cluster: sim.Cluster) -> dict[str, Path]:
    """Apply the deploy and on-call identities as the admin (`todo-cloud rbac apply`) and write a kubeconfig
    for each (`todo-cloud rbac kubeconfig`): identity -> kubeconfig."""
    got = cli("rbac", "apply", "--env", cluster.env, "--kubeconfig", cluster.kubeconfig, timeout=600)
    assert got.returncode == 0, f"todo-cloud rbac apply failed:\n{got.output[-3000:]}"
    found = {}
    for identity in ("deploy", "oncall"):
        out = cluster.workdir / f"{identity}.kubeconfig"
        got = cli("rbac", "kubeconfig", "--env", cluster.env, "--identity", identity, "--out", out,
                  "--kubeconfig", cluster.kubeconfig)
        assert got.returncode == 0, f"todo-cloud rbac kubeconfig --identity {identity} failed:\n{got.output}"
        found[identity] = out
    return found
