"""The reference images of workloads/ in the delivery pipeline: tested, built once, recorded by digest, pushed
unchanged to each environment's registry, deployed by that digest (.github/workflows/images.yml, deploy.yml).

- What is built: the services of the contract table in workloads/README.md (service, image repository, port,
  health path), each a workload of todo_cloud.workloads (its Dockerfile, workloads/ as the build context).
- `build_command`: `docker buildx build` into an OCI image layout tar (the bytes that are pushed, so the digest
  recorded here is the one every registry serves) and into the local Docker (todo_cloud.workloads), where
  `check_commands` run each image as the chart runs it (UID 10001, read-only root filesystem, no
  capabilities) until its HEALTHCHECK passes.
- `record` / `load_record`: `<out>/images.json`, service -> repository, tag, digest, archive.
- `push`: every recorded archive to `<registry of the environment>/<repository>:<tag>`, each checked to be
  served at its recorded digest.
- `deploy_arguments`: `COMPONENT=sha256:...` for the deploy's `--image` (todo_cloud.deploy.images), for the
  services the app chart has as components.

The registry of an environment is the app chart's `image.registry` as the environment's values set it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from todo_cloud import workloads, yamlfile
from todo_cloud.paths import CHARTS, REPO
from todo_cloud.release import oci
from todo_cloud.render import deep_merge, lookup, subchart_values

WORKLOADS = workloads.WORKLOADS
CONTRACT = WORKLOADS / "README.md"
RECORD = "images.json"
# How the chart runs every app container (charts/app values.yaml defaults.securityContext).
UID = "10001:10001"
# What the backend needs to start: a database URL file (it starts without the database; /health says it serves).
STARTUP_FILES = {"backend": ("DATABASE_URL_FILE", "postgresql://todo:unused@127.0.0.1:1/todo")}


class ImagesError(RuntimeError):
    """The images cannot be built, recorded or pushed as asked; the message names the image and why."""


@dataclass(frozen=True)
class Image:
    """One reference image: the service, its repository under the registry, its port and health path."""

    service: str
    repository: str
    port: int
    health: str

    @property
    def dockerfile(self) -> Path:
        return workloads.dockerfile(self.service)


def images() -> list[Image]:
    """The services table of workloads/README.md (the contract), in its order."""
    text = CONTRACT.read_text()
    if "\n## Services\n" not in text:
        raise ImagesError(f"{CONTRACT.relative_to(REPO)}: no '## Services' table")
    table = text.split("\n## Services\n", 1)[1].lstrip("\n").split("\n\n", 1)[0].splitlines()
    header = [c.strip() for c in table[0].strip("|").split("|")]
    found = []
    for line in table[2:]:
        row = dict(zip(header, (c.strip().strip("`") for c in line.strip("|").split("|")), strict=True))
        repository = row[next(h for h in header if h.startswith("image"))]
        health = row[next(h for h in header if h.startswith("startup"))]
        found.append(Image(row["service"], repository, int(row["port"]), health))
    return found


def registry(env: str) -> str:
    """The registry the environment's pods pull the app images from (the app chart's `image.registry`)."""
    defaults = yamlfile.load(CHARTS / "app" / "values.yaml") or {}
    value = lookup(deep_merge(defaults, subchart_values("app", env)), ["image", "registry"])
    if not value:
        raise ImagesError(f"environment {env}: the app chart's image.registry is not set")
    return str(value)


def chart_components() -> set[str]:
    """The components of the app chart (charts/app values.yaml `components`), whose images a deploy takes."""
    return set((yamlfile.load((CHARTS / "app" / "values.yaml")) or {}).get("components") or {})


# --- build and check (Docker) -----------------------------------------------------------------------------


def archive_path(out: Path, image: Image) -> Path:
    return out / f"{image.service}.oci.tar"


def local_name(image: Image, tag: str) -> str:
    return f"{image.repository}:{tag}"


def build_command(image: Image, out: Path, tag: str) -> list[str]:
    """One build into the OCI archive that is pushed and into the local Docker that the check runs
    (docker-container builder: `docker buildx create --use`); no attestations, so the archive is one image."""
    return workloads.release_build_argv(image.service, local_name(image, tag), archive_path(out, image))


def check_commands(image: Image, tag: str, secrets: Path) -> tuple[list[str], list[str], list[str]]:
    """(start, health, remove): run the image as the chart does, its HEALTHCHECK every 2 s; the container is
    `todo-check-<service>`. `secrets` holds the files a service needs to start (STARTUP_FILES)."""
    name = f"todo-check-{image.service}"
    start = ["docker", "run", "--detach", "--name", name, "--read-only", "--tmpfs", "/tmp", "--user", UID,
             "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--health-interval", "2s",
             "--health-start-period", "10s", "--health-timeout", "3s", "--health-retries", "3"]
    if image.service in STARTUP_FILES:
        variable, _ = STARTUP_FILES[image.service]
        start += ["--env", f"{variable}=/run/secrets/{variable}",
                  "--volume", f"{secrets / variable}:/run/secrets/{variable}:ro"]
    start.append(local_name(image, tag))
    health = ["docker", "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", name]
    return start, health, ["docker", "rm", "--force", name]


def startup_files(image: Image, secrets: Path) -> None:
    """Write the files `check_commands` mounts for `image` (readable by the image's user)."""
    if image.service in STARTUP_FILES:
        variable, content = STARTUP_FILES[image.service]
        secrets.mkdir(parents=True, exist_ok=True)
        (secrets / variable).write_text(content)
        (secrets / variable).chmod(0o644)


# --- the record -------------------------------------------------------------------------------------------


def record(out: Path, tag: str, built: list[Image] | None = None) -> dict[str, dict[str, str]]:
    """Read the digest of each built archive and write `<out>/images.json`; ImagesError naming a bad archive."""
    entries: dict[str, dict[str, str]] = {}
    for image in built if built is not None else images():
        path = archive_path(out, image)
        try:
            archive = oci.ImageArchive(path)
            archive.verify()
            digest = archive.digest
        except oci.ArchiveError as exc:
            raise ImagesError(f"{image.service}: {exc}") from None
        entries[image.service] = {"repository": image.repository, "tag": tag, "digest": digest,
                                  "archive": path.name}
    (out / RECORD).write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    return entries


def load_record(out: Path) -> dict[str, dict[str, str]]:
    """`<out>/images.json`; ImagesError when there is none."""
    path = out / RECORD
    if not path.is_file():
        raise ImagesError(f"{path}: no record of built images (`todo-cloud images build --out {out}`)")
    return json.loads(path.read_text())


def deploy_arguments(entries: dict[str, dict[str, str]]) -> list[str]:
    """`COMPONENT=sha256:...` for each recorded image the app chart has as a component (sorted)."""
    components = chart_components()
    return [f"{service}={entry['digest']}" for service, entry in sorted(entries.items()) if service in components]


def push(out: Path, env: str, credentials: oci.Credentials | None = None) -> dict[str, str]:
    """Push every recorded archive to the environment's registry; service -> `<registry>/<repository>@digest`.
    Each must be served at its recorded digest; RegistryError/ImagesError naming the image otherwise."""
    target = registry(env)
    pushed: dict[str, str] = {}
    for service, entry in sorted(load_record(out).items()):
        try:
            archive = oci.ImageArchive(out / entry["archive"])
        except oci.ArchiveError as exc:
            raise ImagesError(f"{service}: {exc}") from None
        if archive.digest != entry["digest"]:
            raise ImagesError(f"{service}: {archive.path.name} holds {archive.digest}, but {RECORD} records "
                              f"{entry['digest']}")
        repository = f"{target}/{entry['repository']}"
        digest = oci.push_archive(archive, repository, entry["tag"], credentials)
        pushed[service] = f"{repository}@{digest}"
    return pushed
