"""`todo-cloud smoke --env ENV [--kubeconfig PATH]`: the smoke tests (tests/smoke) against a running
environment: workloads ready, Dapr sidecars, Kafka and its topics, the event flow (the backend publishes
through its sidecar onto todo-events, Kafka's console tools read it back authenticated as the platform
requires, the analytics consumer counts it: todo_cloud.eventflow), Prometheus targets, Grafana dashboards, Loki
logs and a Jaeger trace.

Against the simulated cluster (KWOK nodes) the checks that need running containers skip with that reason.
Exit code: pytest's (0 passed, 1 a check failed, 5 nothing ran).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from todo_cloud import envs
from todo_cloud.paths import REPO
from todo_cloud.run import run as run_command

# Environment variables the smoke tests read (tests/smoke/conftest.py).
ENV_VAR = "TODO_CLOUD_SMOKE_ENV"
KUBECONFIG_VAR = "TODO_CLOUD_SMOKE_KUBECONFIG"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment (config/environments.yaml)")
    parser.add_argument("--kubeconfig", type=Path, default=None,
                        help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config); its current context "
                             "must be the environment's")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")


def run(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    child = dict(os.environ, **{ENV_VAR: env.name})
    kubeconfig = args.kubeconfig or (Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None)
    if kubeconfig is not None:
        if not kubeconfig.is_file():
            print(f"todo-cloud smoke: --kubeconfig {kubeconfig}: no such file", file=sys.stderr)
            return 2
        child[KUBECONFIG_VAR] = str(kubeconfig)
    cmd = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-o", "addopts=-ra --strict-markers -p no:cacheprovider",
           str(REPO / "tests" / "smoke"), *args.pytest_args]
    return run_command(cmd, check=False, cwd=REPO, env=child, stream=sys.stdout).returncode
