"""The reference workloads of workloads/ as images: which exist and how each is built (contract:
workloads/README.md).

A workload is a folder of workloads/ with a Dockerfile; its name is the app chart's component key and the
Dapr app id. Every image is built with workloads/ as the context (it also takes the shared package
common/todo_workload): `docker build --file workloads/<name>/Dockerfile --tag <image> workloads`.
"""

from __future__ import annotations

from pathlib import Path

from todo_cloud.paths import REPO

WORKLOADS = REPO / "workloads"


def dockerfile(name: str) -> Path:
    return WORKLOADS / name / "Dockerfile"


def names() -> list[str]:
    """The workloads that have an image (a Dockerfile), sorted."""
    return sorted(p.parent.name for p in WORKLOADS.glob("*/Dockerfile"))


def build_argv(name: str, image: str) -> list[str]:
    """`docker build` of workload `name`'s image, tagged `image`."""
    return ["docker", "build", "--file", str(dockerfile(name)), "--tag", image, str(WORKLOADS)]
