"""`todo-cloud images pin --env ENV [--check] [--mirror URL]`: pin the upstream images of an environment by
digest in values/ENV.yaml (todo_cloud.release.pins; where each image is pinned: config/image-pins.yaml).

Resolves every tag from its registry (needs network, or a registry mirror holding the images under their full
names: --mirror, also $TODO_CLOUD_IMAGE_MIRROR). With --check nothing is written: exit 1 when a pin is missing
or differs from what the registry serves now (a chart bump changes the tags). Exit 0 with every pin current.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

from todo_cloud import envs
from todo_cloud.commands import UNAVAILABLE, upstream_ready
from todo_cloud.release import oci, pins

MIRROR_ENV = "TODO_CLOUD_IMAGE_MIRROR"


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    pin = actions.add_parser("pin", help="resolve the upstream images' digests into values/ENV.yaml")
    pin.add_argument("--env", required=True, help="environment")
    pin.add_argument("--check", action="store_true", help="compare only; exit 1 when a pin is missing or stale")
    pin.add_argument("--mirror", default=os.environ.get(MIRROR_ENV) or None,
                     help=f"registry holding the images under their full names (default: ${MIRROR_ENV})")


def run(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    if not upstream_ready("images"):
        return UNAVAILABLE
    try:
        plan = pins.plan(env.name, functools.partial(oci.resolve, mirror=args.mirror))
    except pins.PinError as exc:
        print(f"todo-cloud images pin: {exc}", file=sys.stderr)
        return 1
    changes = plan.changes
    for key, (old, new) in changes.items():
        print(f"{key}: {old or '(unset)'} -> {new or '(removed)'}")
    if args.check:
        if changes:
            print(f"todo-cloud images pin: {len(changes)} pin(s) of {env.values_file.name} are not current; "
                  f"run `todo-cloud images pin --env {env.name}`", file=sys.stderr)
            return 1
        print(f"{env.values_file.name}: all {len(plan.pins)} upstream image pins are current")
        return 0
    if changes:
        pins.write(plan, env.values_file)
    print(f"{env.values_file.name}: {len(plan.pins)} upstream image pins, {len(changes)} changed")
    return 0

