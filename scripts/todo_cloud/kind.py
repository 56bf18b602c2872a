"""`make up` / `make down`: the local environment on a kind cluster.

Needs a running Docker engine and the kind binary. Where either is missing it says so in one line,
names what to run instead, and exits 1 without touching anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from typing import Any

import yaml

from todo_cloud import envs, tools
from todo_cloud.paths import CONFIG
from todo_cloud.run import run
from todo_cloud.sim import namespaces

CLUSTER = "todo-chatbot"
KIND_CONFIG = CONFIG / "kind.yaml"
INSTEAD = "run `make sim-up` for the simulated cluster, or `make render ENV=local` to review the manifests"


def missing() -> str | None:
    """What keeps kind from running here, in a few words, or None."""
    if not shutil.which("docker"):
        return "no docker client on PATH"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False).returncode != 0:
        return "no Docker engine is running (`docker info` fails)"
    if not shutil.which("kind"):
        return "no kind binary on PATH (go install sigs.k8s.io/kind@latest)"
    return None


def up() -> int:
    reason = missing()
    if reason:
        print(f"make up: cannot create a kind cluster here: {reason}; {INSTEAD}", file=sys.stderr)
        return 1
    clusters = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, check=True).stdout
    if CLUSTER not in clusters.split():
        subprocess.run(["kind", "create", "cluster", "--name", CLUSTER, "--config", str(KIND_CONFIG)], check=True)
    prepare_namespaces()
    from todo_cloud.cli import main as cli

    code = cli(["deploy", "--env", envs.get("local").name])
    if code == 0:
        print("make up: the local environment is deployed; check it end to end with `make smoke ENV=local`")
    return code


def namespace_objects(env: str = "local") -> list[dict[str, Any]]:
    """The environment's namespaces, each labelled with the Pod Security level it enforces (as the simulated
    cluster has them: todo_cloud.sim.namespaces)."""
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": level}}}
            for name, level in namespaces(env).items()]


def prepare_namespaces() -> None:
    """Create (or label) the namespaces before the deploy, so Pod Security is enforced from the first pod."""
    context = envs.get("local").kube_context
    run([tools.path("kubectl"), "--context", context, "apply", "--server-side", "--field-manager=todo-cloud-kind",
         "-f", "-"], input=yaml.safe_dump_all(namespace_objects()))


def down() -> int:
    reason = missing()
    if reason:
        print(f"make down: nothing to delete: {reason}", file=sys.stderr)
        return 1
    return subprocess.run(["kind", "delete", "cluster", "--name", CLUSTER], check=False).returncode


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    sys.exit({"up": up, "down": down}[command]())
