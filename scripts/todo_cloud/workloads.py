"""The reference workloads of workloads/ as images: which exist and how each is built (contract:
workloads/README.md).

A workload is a folder of workloads/ with a Dockerfile; its name is the app chart's component key and the
Dapr app id. Every image is built with workloads/ as the context (it also takes the shared package
common/todo_workload): `docker build --file workloads/<name>/Dockerfile --tag <image> workloads` for `make up`;
the delivery pipeline builds the same Dockerfile and context with buildx into an OCI archive
(`release_build_argv`, todo_cloud.release.images).
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


def release_build_argv(name: str, image: str, archive: Path) -> list[str]:
    """`docker buildx build` of workload `name`'s image for a release: linux/amd64, no attestations (so the
    archive holds one image), into the OCI image layout tar `archive` (the bytes that are pushed) and into the
    local Docker as `image` (what is run before it ships); needs a docker-container builder."""
    return ["docker", "buildx", "build", "--file", str(dockerfile(name)), "--platform", "linux/amd64",
            "--provenance=false", "--sbom=false", "--output", f"type=oci,dest={archive},name={image}",
            "--output", f"type=docker,name={image}", str(WORKLOADS)]
