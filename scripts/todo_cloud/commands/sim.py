"""`todo-cloud sim up --env ENV | down | build` (`make sim-up`, `make sim-down`, `make sim-build`): the
simulated cluster for a person (todo_cloud.sim): a real control plane with KWOK nodes shaped like the
environment's node pool, kept running after the command until `sim down`; `sim build` builds its binaries
from the Go module proxy (tools/sim/build.sh, cached outside the repo)."""

from __future__ import annotations

import argparse
import sys

from todo_cloud import envs
from todo_cloud.paths import REPO
from todo_cloud.run import run as run_command
from todo_cloud.sim import lifecycle

# The build compiles Kubernetes, etcd and kwok from source: tens of minutes on two cores.
BUILD_TIMEOUT = 4 * 3600


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    start = actions.add_parser("up", help="start the simulated cluster for one environment")
    start.add_argument("--env", default="local", choices=envs.names(), help="environment whose node pool to shape")
    actions.add_parser("down", help="stop it and remove its folder")
    actions.add_parser("build", help="build its binaries (tools/sim/build.sh)")


def run(args: argparse.Namespace) -> int:
    if args.action == "up":
        return lifecycle.up(args.env)
    if args.action == "down":
        return lifecycle.down()
    return run_command(["bash", REPO / "tools" / "sim" / "build.sh"], check=False, cwd=REPO,
                       timeout=BUILD_TIMEOUT, stream=sys.stdout).returncode
