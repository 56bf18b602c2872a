"""CRDs that no pinned chart ships, from pinned Go modules (versions.toml [external_crds]).

The charts render Gateway API objects (served by DOKS itself) and cert-manager objects (cert-manager is a
cluster prerequisite). Their CRDs come from the Go modules of those projects, downloaded through the Go
module proxy with `go mod download -json <module>@<version>` into the normal Go module cache: nothing is
committed, nothing is fetched from GitHub. `todo-cloud validate` converts them like the chart CRDs
(todo_cloud.crds); the simulated cluster may install them with `crd_documents()`.

Where Go or the module cannot be had, `Unavailable` carries the exact reason; the validate gate then
reports every object of the pinned `groups` as "schema unavailable: <reason>" (a finding, never a pass).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from todo_cloud import crds, versions
from todo_cloud.run import CommandError, TimeoutExpired, run

DOWNLOAD_TIMEOUT = 600


class Unavailable(RuntimeError):
    """The CRDs of a pin cannot be had here; the message is the exact reason."""


@dataclass(frozen=True)
class ExternalCrds:
    """One [external_crds.<name>] pin: CRD files `paths` (globs) inside `module`@`version`."""

    name: str
    module: str
    version: str
    paths: tuple[str, ...]
    groups: tuple[str, ...]

    @property
    def source(self) -> str:
        return f"{self.module}@{self.version}"


def pins() -> list[ExternalCrds]:
    """Every [external_crds] pin of versions.toml, in file order."""
    tables = versions.load().get("external_crds", {})
    return [ExternalCrds(name, t["module"], t["version"], tuple(t["paths"]), tuple(t["groups"]))
            for name, t in tables.items()]


def _download_error(exc: CommandError) -> str:
    """The proxy's or the toolchain's message of a failed `go mod download -json`, on one line."""
    detail = exc.stdout.strip() or exc.stderr.strip()
    with contextlib.suppress(ValueError, AttributeError):
        detail = json.loads(exc.stdout).get("Error", detail)
    return " ".join(detail.split())


def module_dir(pin: ExternalCrds) -> Path:
    """The extracted module in the Go module cache (downloaded through the module proxy when absent)."""
    go = shutil.which("go")
    if not go:
        raise Unavailable(f"{pin.source} ({pin.name} CRDs): no Go toolchain on PATH to download it")
    env = dict(os.environ, GOFLAGS="-mod=mod")
    try:
        info = json.loads(run([go, "mod", "download", "-json", pin.source], env=env,
                              timeout=DOWNLOAD_TIMEOUT).stdout)
    except CommandError as exc:
        raise Unavailable(f"{pin.source} ({pin.name} CRDs) cannot be downloaded from the Go module proxy: "
                          f"{_download_error(exc)}") from exc
    except TimeoutExpired as exc:
        raise Unavailable(f"{pin.source} ({pin.name} CRDs): go mod download took longer than "
                          f"{exc.timeout:.0f} s") from exc
    directory = Path(info.get("Dir") or "")
    if not info.get("Dir") or not directory.is_dir():
        raise Unavailable(f"{pin.source} ({pin.name} CRDs): go mod download reported no module folder: {info}")
    return directory


def _documents(pin: ExternalCrds, directory: Path) -> Iterable[dict[str, Any]]:
    files = sorted({f for pattern in pin.paths for f in directory.glob(pattern) if f.is_file()})
    if not files:
        raise Unavailable(f"{pin.source} ({pin.name} CRDs) has no file matching {', '.join(pin.paths)}")
    for path in files:
        yield from crds.documents(path.read_text())


@cache
def crd_documents_of(name: str) -> tuple[dict[str, Any], ...]:
    """The CustomResourceDefinition documents of one pin (raises Unavailable with the reason)."""
    pin = next((p for p in pins() if p.name == name), None)
    if pin is None:
        raise KeyError(f"versions.toml has no [external_crds.{name}] table")
    docs = tuple(_documents(pin, module_dir(pin)))
    groups = {d["spec"]["group"] for d in docs}
    if not set(pin.groups) <= groups:
        raise Unavailable(f"{pin.source} ({pin.name} CRDs): {', '.join(pin.paths)} define the groups "
                          f"{', '.join(sorted(groups))}, not every pinned group {', '.join(pin.groups)}")
    return docs


def crd_documents() -> list[dict[str, Any]]:
    """Every external CRD document, for the simulated cluster to install before the release.

    Raises Unavailable naming the pin and the reason when any of them cannot be had."""
    return [doc for pin in pins() for doc in crd_documents_of(pin.name)]


def cache_key() -> str:
    """What the converted schemas depend on: every pin's module, version and paths."""
    return json.dumps([[p.module, p.version, list(p.paths)] for p in pins()])
