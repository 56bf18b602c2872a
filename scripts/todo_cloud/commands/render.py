"""`todo-cloud render --env ENV [--out DIR]`: one environment's manifests, one file per kind/name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from todo_cloud import envs
from todo_cloud.commands import UNAVAILABLE, upstream_ready
from todo_cloud.render import RenderError, render_environment, write_manifests


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help=f"one of: {', '.join(envs.names())}")
    parser.add_argument("--out", type=Path, help="folder for one file per object (default: stdout stream)")


def run(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    if not upstream_ready("render"):
        return UNAVAILABLE
    try:
        docs = render_environment(env.name)
    except RenderError as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    if args.out is None:
        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
        return 0
    header = f"rendered by `todo-cloud render --env {env.name}`, do not edit"
    written = write_manifests(docs, args.out, header)
    print(f"render: {len(written)} objects of {env.name} written to {args.out}")
    return 0
