"""`todo-cloud sim up` / `sim down` (`make sim-up` / `make sim-down`): one simulated cluster for a person.

`up` starts the environment's cluster with processes that outlive the command and records them in the user
cache's state file; its kubeconfig's context is the environment's, so `todo-cloud deploy` works against it
unchanged. `down` stops the process groups (etcd last) and removes the cluster's folder.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from todo_cloud import envs
from todo_cloud.cluster_shape import ShapeError, node_pool
from todo_cloud.paths import user_cache
from todo_cloud.processes import stop_groups
from todo_cloud.run import CommandError
from todo_cloud.sim.cluster import Cluster, SimError, bin_dir, free_ports

STATE = user_cache() / "sim" / "run" / "state.json"


def up(env: str) -> int:
    """Start a cluster that outlives this process; its state goes to STATE for `down`."""
    if STATE.exists():
        print(f"sim up: a simulated cluster is already up ({STATE}); run `make sim-down` first", file=sys.stderr)
        return 1
    try:
        folder = bin_dir()
        workdir = Path(tempfile.mkdtemp(prefix=f"todo-sim-{env}-"))
        cluster = Cluster(env, workdir, folder, free_ports(), envs.get(env).kube_context, detached=True)
        try:
            cluster.start()
        except BaseException:
            cluster.stop()
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    except (SimError, ShapeError, CommandError) as exc:
        print(f"sim up: {exc}", file=sys.stderr)
        return 1
    STATE.parent.mkdir(parents=True, exist_ok=True)
    STATE.write_text(json.dumps({"env": env, "workdir": str(workdir), "pids": cluster.pids,
                                 "kubeconfig": str(cluster.kubeconfig)}, indent=2))
    print(f"sim up: {env} cluster ready in {cluster.timings['ready']:.1f} s ({cluster.server}, "
          f"{node_pool(env).count} fake nodes)\n  export KUBECONFIG={cluster.kubeconfig}\n"
          f"  then create the Secrets the deploy asks for and run: todo-cloud deploy --env {env} "
          f"--kubeconfig {cluster.kubeconfig}\n  make sim-down stops it")
    return 0


def down() -> int:
    """Stop the cluster of `up` (process groups, etcd last) and remove its folder."""
    if not STATE.exists():
        print("sim down: no simulated cluster is up", file=sys.stderr)
        return 0
    state = json.loads(STATE.read_text())
    pids: dict[str, int] = dict(state["pids"])
    # etcd last, as a running cluster stops
    stop_groups([pid for name, pid in pids.items() if name != "etcd"])
    stop_groups([pid for name, pid in pids.items() if name == "etcd"])
    workdir = Path(state["workdir"])
    shutil.rmtree(workdir, ignore_errors=True)
    STATE.unlink()
    print(f"sim down: stopped {len(pids)} processes, removed {workdir}")
    return 0
