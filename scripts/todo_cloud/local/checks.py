"""Everything make up checks before its first change (`prepare`), and the pins it works with.

In order: the upstream charts (fetched when missing, as `make deps`), the release rendered for `local` with a
recipe for every Secret and key it reads (todo_cloud.local.secrets), its app images (todo_cloud.local.images:
each built from workloads/, or else already in the local Docker), the pinned helm and kubectl, the Gateway API
CRDs of versions.toml [external_crds.gateway-api]. Docker and the pinned kind are checked before these
(`docker_missing`, `kind_binary`). Each problem is `Unready`, one line saying what to do.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import envs, tools, versions, yamlfile
from todo_cloud.cluster_shape import KIND_CONFIG
from todo_cloud.deploy.secrets import RequiredSecret, release_secrets
from todo_cloud.local import docker, secrets
from todo_cloud.local.images import ImageError, LocalImages, local_images, missing_images_message
from todo_cloud.manifests import Manifest
from todo_cloud.run import run

ENV = "local"
# The kind cluster make up creates (config/kind.yaml names it too).
CLUSTER = "todo-chatbot"
__all__ = ["CLUSTER", "ENV", "KIND_CONFIG", "Context", "Pins", "Unready", "kind_binary", "prepare"]


class Unready(RuntimeError):
    """A prerequisite of make up is not met; the message says which and what to do, in one line."""


@dataclass(frozen=True)
class Pins:
    """versions.toml [kind] and [go_tools.kind]."""

    kind_version: str
    kind_module: str
    node_image: str
    gateway: dict[str, Any]
    postgres: dict[str, Any]

    @classmethod
    def load(cls) -> Pins:
        data = versions.load()
        kind, tool = data["kind"], data["go_tools"]["kind"]
        return cls(tool["version"], tool["module"], kind["node_image"], dict(kind["envoy-gateway"]),
                   dict(kind["postgres"]))



def kind_version(binary: Path | str) -> str | None:
    """The version `kind version` reports (`kind v0.31.0 go1.26.8 linux/amd64` -> v0.31.0), or None."""
    try:
        out = run([binary, "version"], check=False, timeout=20).stdout.split()
    except OSError:
        return None
    return out[1] if len(out) > 1 and out[0] == "kind" else None


def kind_binary(pins: Pins, build: bool = False) -> Path:
    """The pinned kind: the Go-built one of [go_tools.kind], else a kind on PATH reporting the pinned version,
    else (with `build`, when Go is there) built now; raises Unready saying how to get it."""
    try:
        return tools.go_tool("kind")
    except tools.ToolError:
        pass
    on_path = shutil.which("kind")
    found = kind_version(on_path) if on_path else None
    if on_path and found == pins.kind_version:
        return Path(on_path)
    if build and shutil.which("go"):
        print(f"make up: building kind {pins.kind_version} with Go (once)", file=sys.stderr)
        try:
            return tools.build_go_tool("kind")
        except tools.ToolError as exc:
            raise Unready(f"kind {pins.kind_version} could not be built: {exc}") from None
    seen = f" (the kind on PATH is {found or 'unreadable'})" if on_path else ""
    raise Unready(f"no kind {pins.kind_version}{seen}: `make tools-go` builds it (go install "
                  f"{pins.kind_module}@{pins.kind_version}), or put kind {pins.kind_version} on PATH")


def local_registry() -> str:
    """The image registry of the app in values/local.yaml (kind.local): images only `kind load` provides."""
    return str(yamlfile.load(envs.get(ENV).values_file)["app"]["image"]["registry"])


def release_requirements(manifests: list[Manifest]) -> list[RequiredSecret]:
    """The Secrets (with their keys) the local release reads but does not create."""
    env = envs.get(ENV)
    return release_secrets(manifests, env.namespace, env.values_files)


@dataclass
class Context:
    """What the steps work with: found by `prepare`, completed by the steps (the database)."""

    pins: Pins
    kind: Path | str = "kind"
    required: list[RequiredSecret] = field(default_factory=list)
    images: LocalImages = field(default_factory=LocalImages)
    crds: str = ""
    database: secrets.Database | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def kube_context(self) -> str:
        return envs.get(ENV).kube_context


def prepare(kind: Path | str, *, check_images: bool = True) -> Context:
    """Every check that needs no change, in order; raises Unready with the first problem's one line."""
    from todo_cloud import deps
    from todo_cloud.gates import external_crds
    from todo_cloud.render import RenderError, render_environment

    ctx = Context(Pins.load(), kind)
    status = deps.ensure()
    if not status.ready:
        raise Unready(f"the umbrella's upstream charts are not in place ({status.reason}); run `make deps`")
    try:
        manifests = render_environment(ENV)
    except RenderError as exc:
        raise Unready(f"the release of {ENV} does not render: {' '.join(exc.stderr.split())}") from None
    ctx.required = release_requirements(manifests)
    try:
        secrets.check(ctx.required)
    except secrets.RecipeError as exc:
        raise Unready(str(exc)) from None
    try:
        ctx.images = local_images(manifests, local_registry())
    except ImageError as exc:
        raise Unready(str(exc)) from None
    if check_images and (gone := docker.missing_images(list(ctx.images.prebuilt))):
        raise Unready(missing_images_message(gone))
    try:
        tools.path("helm")
        tools.path("kubectl")
    except tools.ToolError as exc:
        raise Unready(str(exc)) from None
    try:
        ctx.crds = yaml.safe_dump_all(external_crds.crd_documents_of("gateway-api"), sort_keys=False)
    except external_crds.Unavailable as exc:
        raise Unready(f"the Gateway API CRDs cannot be had: {exc}") from None
    return ctx
