"""`todo-cloud report --env ENV`: image inventory (tag and digest of every image), capacity at minimum
replicas against the node pool (with headroom against the 20% goal), and the monthly cost of everything
billable (nodes, control plane, registry, database and Spaces from the Terraform variables; volumes and
load balancers from the rendered release) at config/prices.yaml's prices, compared with the seed; for an
environment that runs a profile, every profile side by side with its cost, budget and capacity verdict.
A readable table, or JSON (--json); --out writes the JSON to a file as well."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from todo_cloud import envs, profiles
from todo_cloud.commands import UNAVAILABLE, upstream_ready
from todo_cloud.gates import report
from todo_cloud.render import render_environment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--out", type=Path, help="also write the JSON report to this file")


def run(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    if not upstream_ready("report"):
        return UNAVAILABLE
    variants = [p for p in profiles.variants(env) if p is not None]
    result = report.build(env.name, render_environment(env.name), env.namespace,
                          {p: render_environment(env.name, profile=p) for p in variants})
    as_json = json.dumps(asdict(result), indent=2, sort_keys=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(as_json + "\n")
    print(as_json if args.json else report.render_table(result))
    return 0
