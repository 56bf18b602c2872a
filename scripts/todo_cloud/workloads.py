"""The reference workloads of workloads/ as images: which exist, how each is built and what it runs (contract:
workloads/README.md).

A workload is a folder of workloads/ with a Dockerfile; its name is the app chart's component key (the pods'
`app.kubernetes.io/component` label) and the Dapr app id. Every image is built with workloads/ as the context
(it also takes the shared package common/todo_workload): `docker build --file workloads/<name>/Dockerfile
--tag <image> workloads` for `make up`; the delivery pipeline builds the same Dockerfile and context with
buildx into an OCI archive (`release_build_argv`, todo_cloud.release.images). An image runs
`python -m <package>` (its ENTRYPOINT) with /app, i.e. workloads/<name> and workloads/common, on PYTHONPATH.
"""

from __future__ import annotations

import re
from pathlib import Path

from todo_cloud.paths import REPO

WORKLOADS = REPO / "workloads"
COMMON = WORKLOADS / "common"
# The pod label naming a pod's app component (the app chart's component key): the workload it runs.
COMPONENT_LABEL = "app.kubernetes.io/component"
_ENTRYPOINT = re.compile(r'^ENTRYPOINT\s+\["python",\s*"-m",\s*"([\w.]+)"\]\s*$', re.MULTILINE)


class WorkloadError(ValueError):
    """A workload image that cannot be run as the contract says; the message names its Dockerfile."""


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


def module(name: str) -> str:
    """The Python module workload `name`'s image runs (its ENTRYPOINT `["python", "-m", "<module>"]`)."""
    m = _ENTRYPOINT.search(dockerfile(name).read_text())
    if not m:
        raise WorkloadError(f"{dockerfile(name).relative_to(REPO)}: no ENTRYPOINT [\"python\", \"-m\", \"<package>\"]")
    return m.group(1)


def python_path(name: str) -> tuple[Path, ...]:
    """What the image's /app holds, on its PYTHONPATH: the service's package and the shared todo_workload."""
    return (WORKLOADS / name, COMMON)
