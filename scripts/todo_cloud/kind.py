"""`make up` / `make down`: the local environment on a kind cluster.

Needs a running Docker engine and the pinned kind (versions.toml [go_tools.kind], built with Go when absent).
Where either is missing it says so in one line, names what to run instead, and exits 1 without touching
anything. Everything else make up needs is checked next, before the first change (todo_cloud.kind_local:
the rendered release, a recipe for every Secret it reads, the app images in the local Docker, the pinned
tools and CRDs); then it creates the cluster, the namespaces, PostgreSQL, the Secrets, Envoy Gateway with
its GatewayClass, loads the images and deploys. Every step is idempotent: make up again resumes.

`python -m todo_cloud.kind up --dry-run` checks and prints the steps without changing anything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from todo_cloud import envs, kind_local, tools
from todo_cloud.kind_local import CLUSTER, KIND_CONFIG, Unready
from todo_cloud.run import CommandError, run

__all__ = ["CLUSTER", "KIND_CONFIG", "down", "main", "missing", "prepare_namespaces", "up"]

INSTEAD = "run `make sim-up` for the simulated cluster, or `make render ENV=local` to review the manifests"


def missing(build: bool = False) -> str | None:
    """What keeps kind from running here, in a few words, or None (`build`: build the pinned kind with Go
    when it is the only thing missing)."""
    return _docker_and_kind(build)[1]


def _docker_and_kind(build: bool) -> tuple[Path | None, str | None]:
    """The pinned kind binary, or why Docker or kind cannot be used here."""
    reason = kind_local.docker_missing()
    if reason:
        return None, reason
    try:
        return kind_local.kind_binary(kind_local.Pins.load(), build=build), None
    except Unready as exc:
        return None, str(exc)


def cannot(reason: str) -> str:
    """The one line make up prints when Docker or kind is missing."""
    return f"make up: cannot create a kind cluster here: {reason}; {INSTEAD}"


def stopped(reason: str) -> str:
    """The one line make up prints when a prerequisite of the deploy is missing (nothing changed yet)."""
    return f"make up: cannot deploy the local environment: {reason}; nothing was changed"


def up(dry_run: bool = False) -> int:
    if dry_run:
        return _dry_run()
    kind, reason = _docker_and_kind(build=True)
    if kind is None:
        print(cannot(reason or "no kind"), file=sys.stderr)
        return 1
    try:
        ctx = kind_local.prepare(kind)
    except Unready as exc:
        print(stopped(str(exc)), file=sys.stderr)
        return 1
    try:
        kind_local.run_steps(kind_local.plan(ctx))
    except kind_local.DeployFailed as exc:
        _warn(ctx)
        return exc.code
    except (Unready, CommandError, tools.ToolError) as exc:
        _warn(ctx)
        print(f"make up: failed: {exc}\nmake up: every step is idempotent: fix the cause and run make up again",
              file=sys.stderr)
        return 1
    _warn(ctx)
    print("make up: the local environment is deployed; check it end to end with `make smoke ENV=local`")
    return 0


def _warn(ctx: kind_local.Context) -> None:
    for line in ctx.warnings:
        print(f"make up: {line}", file=sys.stderr)


def _dry_run() -> int:
    """Check what can be checked and print the steps make up would take; change nothing. Exit 1 when make up
    would stop at a prerequisite."""
    print("make up --dry-run: nothing is changed")
    pins = kind_local.Pins.load()
    docker = kind_local.docker_missing()
    print(f"  docker: {docker or 'ok'}")
    kind: Path | str = "kind"
    try:
        kind = kind_local.kind_binary(pins)
        print(f"  kind {pins.kind_version}: {kind}")
    except Unready as exc:
        print(f"  kind {pins.kind_version}: {exc}")
    problem = None
    try:
        ctx = kind_local.prepare(kind, check_images=docker is None)
    except Unready as exc:
        problem = str(exc)
        ctx = kind_local.Context(pins, kind)
    if problem:
        print(f"  release: {problem}")
    else:
        print("  secrets: a recipe for each: " + ", ".join(
            f"{r.ref.name} ({', '.join(r.keys) or 'whole Secret'})" for r in ctx.required))
        checked = "in the local Docker" if docker is None else "not checked without Docker"
        print(f"  images: {', '.join(ctx.images)} ({checked})")
    print("steps:")
    print("\n".join(kind_local.describe(kind_local.plan(ctx))))
    return 1 if docker or problem or not isinstance(kind, Path) else 0


def prepare_namespaces() -> None:
    """Create (or label) the namespaces before the deploy, so Pod Security is enforced from the first pod."""
    context = envs.get("local").kube_context
    run([tools.path("kubectl"), "--context", context, "apply", "--server-side", "--field-manager=todo-cloud-kind",
         "-f", "-"], input=yaml.safe_dump_all(envs.namespace_objects(envs.get("local"))))


def down() -> int:
    kind, reason = _docker_and_kind(build=False)
    if kind is None:
        print(f"make down: nothing to delete: {reason}", file=sys.stderr)
        return 1
    try:
        kind_local.stream([kind, "delete", "cluster", "--name", CLUSTER], timeout=600)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    pg = kind_local.Pins.load().postgres["container"]
    if kind_local.container_state(pg) is not None:
        print(f"make down: the PostgreSQL container {pg} keeps running with its data (make up reuses it); "
              f"`docker rm -f {pg}` removes it", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m todo_cloud.kind", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="up", choices=("up", "down"))
    parser.add_argument("--dry-run", action="store_true", help="up: check and print the steps, change nothing")
    args = parser.parse_args(argv)
    return up(args.dry_run) if args.command == "up" else down()


if __name__ == "__main__":
    sys.exit(main())
