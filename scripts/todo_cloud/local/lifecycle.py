"""`todo-cloud up` / `todo-cloud down` (`make up` / `make down`): the local environment on a kind cluster.

Needs a running Docker engine and the pinned kind (versions.toml [go_tools.kind], built with Go when absent);
nothing else to prepare. Where Docker or kind is missing it says so in one line, names what to run instead,
and exits 1 without touching anything. Everything else make up needs is checked next, before the first
change (todo_cloud.local.checks: the upstream charts, the rendered release, a recipe for every Secret it
reads, where each app image comes from, the pinned tools and CRDs); then the steps of todo_cloud.local.steps
build the app images from workloads/, create the cluster, the namespaces, PostgreSQL, the Secrets, Envoy
Gateway with its GatewayClass, load the images and deploy. Every step is idempotent: make up again resumes.
`todo-cloud up --dry-run` checks and prints the steps without changing anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

from todo_cloud import tools
from todo_cloud.local import checks, docker, steps
from todo_cloud.local.checks import CLUSTER, Unready
from todo_cloud.run import CommandError

INSTEAD = "run `make sim-up` for the simulated cluster, or `make render ENV=local` to review the manifests"


def missing(build: bool = False) -> str | None:
    """What keeps kind from running here, in a few words, or None (`build`: build the pinned kind with Go
    when it is the only thing missing)."""
    return _docker_and_kind(build)[1]


def _docker_and_kind(build: bool) -> tuple[Path | None, str | None]:
    """The pinned kind binary, or why Docker or kind cannot be used here."""
    reason = docker.docker_missing()
    if reason:
        return None, reason
    try:
        return checks.kind_binary(checks.Pins.load(), build=build), None
    except Unready as exc:
        return None, str(exc)


def cannot(reason: str) -> str:
    """The one line make up prints when Docker or kind is missing."""
    return f"make up: cannot build the app images and run kind here: {reason}; {INSTEAD}"


def stopped(reason: str) -> str:
    """The one line make up prints when a prerequisite of the deploy is missing (nothing changed yet)."""
    return f"make up: cannot deploy the local environment: {reason}; nothing was changed"


def up(dry_run: bool = False) -> int:
    """Check everything, then run every step of make up; the exit code of the command."""
    if dry_run:
        return _dry_run()
    kind, reason = _docker_and_kind(build=True)
    if kind is None:
        print(cannot(reason or "no kind"), file=sys.stderr)
        return 1
    try:
        ctx = checks.prepare(kind)
    except Unready as exc:
        print(stopped(str(exc)), file=sys.stderr)
        return 1
    try:
        steps.run_steps(steps.plan(ctx))
    except steps.DeployFailed as exc:
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


def _warn(ctx: checks.Context) -> None:
    for line in ctx.warnings:
        print(f"make up: {line}", file=sys.stderr)


def _dry_run() -> int:
    """Check what can be checked and print the steps make up would take; change nothing. Exit 1 when make up
    would stop at a prerequisite."""
    print("make up --dry-run: nothing is changed")
    pins = checks.Pins.load()
    reason = docker.docker_missing()
    print(f"  docker: {reason or 'ok'}")
    kind: Path | str = "kind"
    try:
        kind = checks.kind_binary(pins)
        print(f"  kind {pins.kind_version}: {kind}")
    except Unready as exc:
        print(f"  kind {pins.kind_version}: {exc}")
    problem = None
    try:
        ctx = checks.prepare(kind, check_images=reason is None)
    except Unready as exc:
        problem = str(exc)
        ctx = checks.Context(pins, kind)
    if problem:
        print(f"  release: {problem}")
    else:
        print("  secrets: a recipe for each: " + ", ".join(
            f"{r.ref.name} ({', '.join(r.keys) or 'whole Secret'})" for r in ctx.required))
        for build in ctx.images.builds:
            print(f"  image {build.image}: built from workloads/{build.workload}/Dockerfile")
        checked = "in the local Docker" if reason is None else "not checked without Docker"
        for image in ctx.images.prebuilt:
            print(f"  image {image}: no workload builds it, it must be in the local Docker ({checked})")
    print("steps:")
    print("\n".join(steps.describe(steps.plan(ctx))))
    return 1 if reason or problem or not isinstance(kind, Path) else 0


def down() -> int:
    """Delete the kind cluster (the PostgreSQL container keeps its data); the exit code of the command."""
    kind, reason = _docker_and_kind(build=False)
    if kind is None:
        print(f"make down: nothing to delete: {reason}", file=sys.stderr)
        return 1
    try:
        steps.stream([kind, "delete", "cluster", "--name", CLUSTER], timeout=600)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    pg = checks.Pins.load().postgres["container"]
    if docker.container_state(pg) is not None:
        print(f"make down: the PostgreSQL container {pg} keeps running with its data (make up reuses it); "
              f"`docker rm -f {pg}` removes it", file=sys.stderr)
    return code
