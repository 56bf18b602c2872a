"""`todo-cloud nodes --env ENV [--kubeconfig PATH] [--write]`: check the capacity report's assumptions against the
environment's cluster (todo_cloud.gates.live_nodes): the allocatable CPU and memory of each node size and the
requests of DOKS's own kube-system pods, recorded in config/prices.yaml.

Reads the nodes and the kube-system pods with the pinned kubectl, on the environment's context. Exit 0 when the
file holds what the cluster shows and is marked confirmed; 1 naming each figure that differs (--write then
records them and marks the figures confirmed, all or nothing); 2 when the cluster cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from todo_cloud import cluster_shape, envs
from todo_cloud.deploy.runner import ToolRunner
from todo_cloud.gates import live_nodes
from todo_cloud.paths import REPO

NAME = "todo-cloud nodes"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="a DigitalOcean environment (staging, production)")
    parser.add_argument("--kubeconfig", type=Path, default=None,
                        help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    parser.add_argument("--write", action="store_true",
                        help="record what the cluster shows in the price table and mark it confirmed")
    parser.add_argument("--prices", type=Path, default=cluster_shape.PRICES, help=argparse.SUPPRESS)


def _items(runner: ToolRunner, context: str, *what: str) -> list[dict]:
    got = runner(["kubectl", "--context", context, "get", *what, "-o", "json"], timeout=60)
    if not got.ok:
        raise live_nodes.LiveNodesError(f"kubectl get {' '.join(what)} on context {context}: "
                                        f"{got.stderr.strip() or 'exit ' + str(got.returncode)}")
    return json.loads(got.stdout).get("items") or []


def run(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    if env.name == "local":
        print(f"{NAME}: local runs on kind, whose capacity the report reads from config/kind-capacity.yaml; "
              "this checks the DigitalOcean figures of staging and production", file=sys.stderr)
        return 2
    if args.kubeconfig is not None and not args.kubeconfig.is_file():
        print(f"{NAME}: --kubeconfig {args.kubeconfig}: no such file", file=sys.stderr)
        return 2
    shown = args.prices.relative_to(REPO) if args.prices.is_relative_to(REPO) else args.prices
    runner = ToolRunner(args.kubeconfig)
    try:
        seen = live_nodes.observe(_items(runner, env.kube_context, "nodes"),
                                  _items(runner, env.kube_context, "pods", "-n", live_nodes.SYSTEM_NAMESPACE))
        differences = live_nodes.compare(seen, cluster_shape.prices(args.prices))
        for line in differences:
            print(line)
        if not differences:
            print(f"{shown}: the allocatable of {', '.join(seen.sizes) or 'no node'} and the requests of "
                  f"{len(seen.system)} {live_nodes.SYSTEM_NAMESPACE} workload(s) match {env.kube_context}")
            return 0
        if not args.write:
            print(f"{NAME}: {len(differences)} figure(s) of {shown} differ from {env.kube_context}; "
                  f"run `todo-cloud nodes --env {env.name} --write` to record them", file=sys.stderr)
            return 1
        live_nodes.write(args.prices, seen, env.kube_context)
    except live_nodes.LiveNodesError as exc:
        print(f"{NAME}: {exc}", file=sys.stderr)
        return 2
    print(f"{shown}: recorded what {env.kube_context} shows and marked it confirmed; "
          "`todo-cloud report` now computes with it")
    return 0
