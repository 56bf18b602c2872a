"""`todo-cloud images pin | build | check | push`: the images of a release.

`pin --env ENV [--check] [--mirror URL]` (`make pin-images`): pin the upstream images of an environment by digest
in values/ENV.yaml (todo_cloud.release.pins; where each image is pinned: config/image-pins.yaml). Resolves every
tag from its registry (needs network, or a registry mirror holding the images under their full names: --mirror,
also $TODO_CLOUD_IMAGE_MIRROR). With --check nothing is written: exit 1 when a pin is missing or differs from what
the registry serves now (a chart bump changes the tags). Exit 0 with every pin current.

The reference images of workloads/ (todo_cloud.release.images; the delivery pipeline runs these in order):
`build --out DIR [--tag TAG]` builds each into DIR/<service>.oci.tar and the local Docker and records the digests
in DIR/images.json, printing `COMPONENT=DIGEST` for the deploy's `--image`; `check --out DIR` runs each image as the
chart does until its health check passes; `push --out DIR --env ENV` pushes the recorded archives unchanged to
the environment's registry (credentials: $TODO_CLOUD_REGISTRY_USERNAME and $TODO_CLOUD_REGISTRY_PASSWORD) and
fails unless each is served at its recorded digest.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from todo_cloud import envs
from todo_cloud.commands import UNAVAILABLE, upstream_ready
from todo_cloud.paths import REPO
from todo_cloud.release import images, oci, pins
from todo_cloud.run import CommandError
from todo_cloud.run import run as run_command

MIRROR_ENV = "TODO_CLOUD_IMAGE_MIRROR"
USERNAME_ENV = "TODO_CLOUD_REGISTRY_USERNAME"
PASSWORD_ENV = "TODO_CLOUD_REGISTRY_PASSWORD"
BUILD_TIMEOUT = 1800
# Seconds an image has to report healthy after it starts.
HEALTHY_WITHIN = 90


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    pin = actions.add_parser("pin", help="resolve the upstream images' digests into values/ENV.yaml")
    pin.add_argument("--env", required=True, help="environment")
    pin.add_argument("--check", action="store_true", help="compare only; exit 1 when a pin is missing or stale")
    pin.add_argument("--mirror", default=os.environ.get(MIRROR_ENV) or None,
                     help=f"registry holding the images under their full names (default: ${MIRROR_ENV})")
    build = actions.add_parser("build", help="build the reference images of workloads/ and record their digests")
    build.add_argument("--out", type=Path, required=True, help="folder of the OCI archives and images.json")
    build.add_argument("--tag", default="dev", help="tag of the images (the pipeline uses the commit)")
    check = actions.add_parser("check", help="run each built image as the chart does until it is healthy")
    check.add_argument("--out", type=Path, required=True, help="folder of `images build`")
    push = actions.add_parser("push", help="push the built images unchanged to an environment's registry")
    push.add_argument("--out", type=Path, required=True, help="folder of `images build`")
    push.add_argument("--env", required=True, help="environment whose registry (app image.registry) to push to")


def run(args: argparse.Namespace) -> int:
    handler = {"pin": _pin, "build": _build, "check": _check, "push": _push}[args.action]
    try:
        return handler(args)
    except (images.ImagesError, oci.RegistryError, CommandError) as exc:
        print(f"todo-cloud images {args.action}: {exc}", file=sys.stderr)
        return 1


def _pin(args: argparse.Namespace) -> int:
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



def _docker() -> None:
    """ImagesError unless a Docker engine answers (the images are built where one runs: CI, a workstation)."""
    if not shutil.which("docker"):
        raise images.ImagesError("no docker command: the images are built where Docker runs (CI: "
                                 ".github/workflows/images.yml)")
    info = run_command(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=60)
    if info.returncode != 0:
        raise images.ImagesError("no Docker engine answers (`docker info` failed): the images are built where "
                                 f"Docker runs (CI: .github/workflows/images.yml): {info.stderr.strip()[:200]}")


def _build(args: argparse.Namespace) -> int:
    _docker()
    args.out.mkdir(parents=True, exist_ok=True)
    built = images.images()
    for image in built:
        print(f"building {image.service} ({image.dockerfile.relative_to(REPO)})", file=sys.stderr)
        run_command(images.build_command(image, args.out, args.tag), timeout=BUILD_TIMEOUT, stream=sys.stderr)
    entries = images.record(args.out, args.tag, built)
    for service, entry in sorted(entries.items()):
        print(f"{service}: {entry['repository']}:{entry['tag']}@{entry['digest']}", file=sys.stderr)
    for argument in images.deploy_arguments(entries):
        print(argument)
    return 0


def _check(args: argparse.Namespace) -> int:
    _docker()
    entries = images.load_record(args.out)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="todo-images-") as tmp:
        for image in images.images():
            if image.service not in entries:
                raise images.ImagesError(f"{image.service}: not in {args.out / images.RECORD}")
            images.startup_files(image, Path(tmp))
            start, health, remove = images.check_commands(image, entries[image.service]["tag"], Path(tmp))
            run_command(remove, check=False, timeout=60)
            try:
                run_command(start, timeout=120)
                state = _wait_healthy(health)
                if state != "running healthy":
                    failed += 1
                    logs = run_command(["docker", "logs", "--tail", "30", start[start.index("--name") + 1]],
                                       check=False, timeout=60)
                    print(f"FAIL {image.service}: {state} after {HEALTHY_WITHIN} s\n{logs.stdout}{logs.stderr}")
                else:
                    print(f"ok   {image.service}: healthy as UID {images.UID} on a read-only root filesystem")
            finally:
                run_command(remove, check=False, timeout=60)
    return 1 if failed else 0


def _wait_healthy(health: list[str]) -> str:
    """The container's `<status> <health>` once healthy, or as it was when it stopped or the time ran out."""
    deadline = time.monotonic() + HEALTHY_WITHIN
    state = ""
    while time.monotonic() < deadline:
        state = run_command(health, check=False, timeout=60).stdout.strip()
        if state == "running healthy" or not state.startswith("running") or state.endswith("unhealthy"):
            return state
        time.sleep(2)
    return state


def _push(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    username, password = os.environ.get(USERNAME_ENV), os.environ.get(PASSWORD_ENV)
    credentials = oci.Credentials(username, password) if username and password else None
    for service, reference in images.push(args.out, env.name, credentials).items():
        print(f"{service}: {reference}")
    return 0
