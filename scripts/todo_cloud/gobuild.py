"""Pinned Go programs built from the Go module proxy into the user cache. Standard library only (the
bootstrap reaches it through `todo_cloud.tools`).

The one home of every Go build of versions.toml:
- [go_tools.<name>]: `go install module@version` (the module's go.mod has no replace directives);
- [go_builds.<name>]: `go build` of `package` inside a writable copy of the module downloaded from the
  module proxy, which makes it the main module so that its replace directives apply; the copy may be
  trimmed first (`components`: keep only the component registrations a program needs, see `_prune`;
  `drop`: file -> words, the lines of the file naming one of them removed, see `_drop_lines`), completed
  (`create`: files the repository has but the module zip lacks), and its requirements raised (`require`:
  module -> a newer patch release, where the module proxy refuses the version the go.mod names).

Both kinds build with the same settings, so that builds share compiled packages in the Go build cache:
CGO_ENABLED=0, `-trimpath`, GOFLAGS=-buildvcs=false, the pin's `tags` and `ldflags` (version stamps), and
the project's Go module proxy in front of GOPROXY (`paths.goproxy()`). Each build goes into
`<go-bin>/<name>-<version>.part` and is renamed to `<name>-<version>` when it is complete, under a file lock,
so parallel test workers build once and never see half a build; `.build.json` in the folder records the
pin it was built from (a changed pin is rebuilt). A failure raises BuildError with the failing command, its
folder and the tail of its output; the whole output stays in `<go-bin>/<name>-<version>.log`.

Usage: todo-cloud tools-go [NAME ...]   (build the named pins, default every [go_tools]; prints their paths)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from todo_cloud import versions
from todo_cloud.paths import goproxy, user_cache

KINDS = ("go_tools", "go_builds")
# Lines of a failing command's output quoted in the error.
TAIL_LINES = 25


class BuildError(RuntimeError):
    """A pinned Go program is not built, or its build failed; the message says which command and why."""


@dataclass(frozen=True)
class GoPin:
    """One [go_tools.<name>] or [go_builds.<name>] table of versions.toml."""

    name: str
    kind: str
    module: str
    version: str
    binary: str
    package: str = "."
    ldflags: str = ""
    tags: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    registrations: str = ""
    create: Mapping[str, str] = field(default_factory=dict)
    drop: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    require: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 3600.0

    @property
    def fingerprint(self) -> dict[str, Any]:
        """What the build depends on besides the Go toolchain: recorded in `.build.json`."""
        return {"kind": self.kind, "module": self.module, "version": self.version, "package": self.package,
                "ldflags": self.ldflags, "tags": list(self.tags), "components": list(self.components),
                "create": dict(self.create), "env": dict(self.env), **({"require": dict(self.require)}
                                                                        if self.require else {}),
                **({"drop": {f: list(w) for f, w in self.drop.items()}} if self.drop else {})}


def pin(name: str) -> GoPin:
    """The pin of `name` from [go_tools] or [go_builds]; BuildError when neither has it."""
    data = versions.load()
    for kind in KINDS:
        table = data.get(kind, {}).get(name)
        if table is not None:
            return GoPin(
                name=name, kind=kind, module=table["module"], version=table["version"],
                binary=table.get("binary", name), package=table.get("package", "."),
                ldflags=" ".join(table.get("ldflags", "").split()), tags=tuple(table.get("tags", ())),
                components=tuple(table.get("components", ())) + tuple(table.get("harness_components", ())),
                registrations=table.get("registrations", ""), create=dict(table.get("create", {})),
                drop={f: tuple(w) for f, w in table.get("drop", {}).items()},
                require=dict(table.get("require", {})), env=dict(table.get("env", {})),
                timeout=float(table.get("timeout", 3600)))
    raise BuildError(f"versions.toml has no [go_tools.{name}] or [go_builds.{name}] table")


def names(kind: str | None = None) -> list[str]:
    """Every pinned Go program (of one kind), in file order."""
    data = versions.load()
    return [n for k in KINDS if kind in (None, k) for n in data.get(k, {})]


def go_bin() -> Path:
    """The folder of every Go build, shared by every clone on the machine."""
    return user_cache() / "go-bin"


def folder(name: str) -> Path:
    """Folder of one pinned build: `<go-bin>/<name>-<version>`."""
    p = pin(name)
    return go_bin() / f"{name}-{p.version}"


def _stamp(where: Path) -> Path:
    return where / ".build.json"


def is_built(name: str) -> bool:
    """True when the pin's binary is built from exactly this pin."""
    p = pin(name)
    out = folder(name)
    if not (out / p.binary).is_file():
        return False
    try:
        return json.loads(_stamp(out).read_text()).get("pin") == p.fingerprint
    except (OSError, ValueError):
        return False


def built(name: str) -> Path:
    """Path of a built pin; BuildError naming it (and how to build it) when it is absent or stale."""
    p = pin(name)
    if is_built(name):
        return folder(name) / p.binary
    raise BuildError(f"{name} {p.version} is not built: run `todo-cloud tools-go {name}` "
                     f"(builds {p.module}@{p.version} from the Go module proxy)")


# --- the Go command and its environment -------------------------------------------------------------------


def go() -> str:
    """The Go command on PATH; BuildError when there is none."""
    found = shutil.which("go")
    if not found:
        raise BuildError("no Go toolchain on PATH (`go`): the pinned Go programs are built from the module proxy")
    return found


@cache
def _machine_goproxy() -> str:
    configured = os.environ.get("GOPROXY")
    if configured:
        return configured
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([go(), "env", "GOPROXY"], capture_output=True, text=True, timeout=60, check=True)
        if out.stdout.strip():
            return out.stdout.strip()
    return "https://proxy.golang.org,direct"


def goproxy_setting(local: Path | None = None) -> str:
    """GOPROXY of every build: the project's file-based proxy (when it exists) in front of the machine's."""
    local = goproxy() if local is None else local
    machine = _machine_goproxy()
    if not local.is_dir():
        return machine
    entry = f"file://{local.resolve()}"
    rest = [e for e in re.split(r"[,|]", machine) if e and e != entry]
    return ",".join([entry, *rest]) if rest else entry


def go_env(extra: Mapping[str, str] | None = None, *, main_module: bool = False) -> dict[str, str]:
    """The environment of every Go command of the project's builds."""
    flags = ["-buildvcs=false"] + (["-mod=mod"] if main_module else [])
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS=" ".join(flags), GOPROXY=goproxy_setting())
    env.update(extra or {})
    return env


def build_flags(p: GoPin, output: Path) -> list[str]:
    """Flags of `go build`/`go install` for one pin (the same for both)."""
    flags = ["-trimpath"]
    if p.tags:
        flags += ["-tags", ",".join(p.tags)]
    if p.ldflags:
        flags += ["-ldflags", p.ldflags]
    if p.kind == "go_builds":
        flags += ["-o", str(output / p.binary)]
    return flags


def _run(cmd: list[str], *, env: Mapping[str, str], cwd: Path, timeout: float, log: Path) -> str:
    """Run one build step, appending its output to `log`; BuildError with the command and output tail."""
    with log.open("a") as fh:
        fh.write(f"$ (cd {cwd} && {shlex.join(cmd)})\n")
    try:
        proc = subprocess.run(cmd, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"command timed out after {timeout:.0f} s: {shlex.join(cmd)} (in {cwd}); "
                         f"whole output: {log}") from exc
    with log.open("a") as fh:
        fh.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        text = proc.stderr.strip() or proc.stdout.strip()
        with contextlib.suppress(ValueError, AttributeError):  # `go mod download -json` reports in JSON
            text = json.loads(proc.stdout).get("Error") or text
        tail = "\n".join("    " + line for line in text.splitlines()[-TAIL_LINES:])
        raise BuildError(f"command failed (exit {proc.returncode}): {shlex.join(cmd)}\n  in {cwd}\n{tail}\n"
                         f"  whole output: {log}")
    return proc.stdout


# --- module sources -----------------------------------------------------------------------------------------


def module_dir(module: str, version: str) -> Path:
    """The read-only source of `module@version` in the Go module cache, downloaded through the project's
    proxy setting when absent; BuildError with the go command's reason when it cannot be had."""
    go_bin().mkdir(parents=True, exist_ok=True)
    log = go_bin() / "module-downloads.log"
    info = json.loads(_run([go(), "mod", "download", "-json", f"{module}@{version}"], env=go_env(main_module=True),
                           cwd=go_bin(), timeout=900, log=log))
    return Path(info["Dir"])


def required_version(go_mod: Path, module: str) -> str:
    """The version of `module` that a go.mod requires; BuildError when it requires none."""
    found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod.read_text(), re.MULTILINE)
    if not found:
        raise BuildError(f"{go_mod} requires no {module}")
    return found.group(1)


# --- preparing a copy of a module -------------------------------------------------------------------------

_REGISTER = re.compile(r"DefaultRegistry\.RegisterComponent\w*\(\s*[\w.]+,?\s*((?:\"[^\"]+\"\s*,?\s*)+)\)")
_REGISTER_VERSIONED = re.compile(r"DefaultRegistry\.RegisterComponentWithVersions\(\s*\"([^\"]+)\"")


def registrations(where: Path) -> dict[str, str]:
    """Component types registered by the files of a registration folder (Dapr's cmd/daprd/components):
    `<kind>.<name>` (kind: the file name's prefix, e.g. `pubsub`) -> file name."""
    found: dict[str, str] = {}
    for path in sorted(where.glob("*.go")):
        if path.name.endswith("_test.go") or "_" not in path.name:
            continue
        kind = path.name.split("_", 1)[0]
        text = path.read_text()
        names_ = [n for m in _REGISTER.finditer(text) for n in re.findall(r"\"([^\"]+)\"", m.group(1))]
        names_ += _REGISTER_VERSIONED.findall(text)
        for n in names_:
            found.setdefault(f"{kind}.{n}", path.name)
    return found


def _prune(p: GoPin, src: Path) -> None:
    """Keep only the registration files of `p.components` in `p.registrations` (the rest is removed), so that
    the program links only the components it needs and their dependencies alone are downloaded."""
    where = src / p.registrations
    known = registrations(where)
    missing = sorted(set(p.components) - set(known))
    if missing:
        raise BuildError(f"{p.name} {p.version}: no registration in {p.registrations} for component type(s) "
                         f"{', '.join(missing)} (versions.toml [go_builds.{p.name}] components)")
    keep = {known[c] for c in p.components}
    for name in sorted(keep):
        constraint = _build_constraint(where / name)
        if constraint and not any(alt.strip() in p.tags for alt in constraint.split("||")):
            raise BuildError(f"{p.name} {p.version}: {p.registrations}/{name} builds only with `//go:build "
                             f"{constraint}`, which the pin's tags {list(p.tags)} do not satisfy")
    for path in where.glob("*.go"):
        if path.name not in keep and not path.name.startswith("zz_"):
            path.unlink()


def _drop_lines(p: GoPin, src: Path) -> None:
    """Remove from each file of `p.drop` every line naming one of its words (an import and the table entry
    using it: a word is matched whole, as an identifier). A word that names no line, or a file the module
    lacks, is a BuildError, so a pin moved to a release whose source changed says so instead of building
    more than intended; a line left using a removed import fails the compile, naming it."""
    for rel, words in sorted(p.drop.items()):
        path = src / rel
        if not path.is_file():
            raise BuildError(f"{p.name} {p.version}: {rel} is not in the module (versions.toml "
                             f"[go_builds.{p.name}] drop)")
        lines = path.read_text().splitlines(keepends=True)
        patterns = {w: re.compile(rf"\b{re.escape(w)}\b") for w in words}
        unused = [w for w, rx in patterns.items() if not any(rx.search(line) for line in lines)]
        if unused:
            raise BuildError(f"{p.name} {p.version}: no line of {rel} names {', '.join(unused)} (versions.toml "
                             f"[go_builds.{p.name}] drop)")
        path.write_text("".join(line for line in lines if not any(rx.search(line) for rx in patterns.values())))


def _build_constraint(path: Path) -> str:
    """The `//go:build` expression of a Go file ("" when it has none)."""
    for line in path.read_text().splitlines():
        if line.startswith("//go:build "):
            return line.removeprefix("//go:build ").strip()
        if line.startswith("package "):
            break
    return ""


def _copy_module(p: GoPin, work: Path, log: Path) -> Path:
    """A writable copy of the pinned module from the module proxy, trimmed and completed as the pin says."""
    info = json.loads(_run([go(), "mod", "download", "-json", f"{p.module}@{p.version}"],
                           env=go_env(p.env, main_module=True), cwd=work, timeout=900, log=log))
    src = work / "src"
    shutil.copytree(info["Dir"], src)
    for path in [src, *src.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    if p.registrations:
        _prune(p, src)
    _drop_lines(p, src)
    for rel, text in p.create.items():
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    _require(p, src, log)
    return src


def _require(p: GoPin, src: Path, log: Path) -> None:
    """Raise the copy's requirements to the pin's `require` versions (`go mod edit -require`); the build then
    resolves the rest of the graph by minimal version selection."""
    if p.require:
        _run([go(), "mod", "edit", *(f"-require={m}@{v}" for m, v in sorted(p.require.items()))],
             env=go_env(p.env, main_module=True), cwd=src, timeout=120, log=log)


# --- building ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """Hold `<go-bin>/.<name>.lock` (one build of a pin at a time on the machine)."""
    go_bin().mkdir(parents=True, exist_ok=True)
    with (go_bin() / f".{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(name: str) -> Path:
    """Build one pin into its cache folder unless it is built already; its binary's path."""
    if is_built(name):
        return built(name)
    p = pin(name)
    with _locked(name):
        if is_built(name):  # another worker built it while this one waited
            return built(name)
        out = folder(name)
        part = out.with_name(out.name + ".part")
        log = out.with_name(out.name + ".log")
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
        log.write_text(f"# build of {name} {p.version} started {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        started = time.monotonic()
        try:
            if p.kind == "go_tools":
                env = go_env({**p.env, "GOBIN": str(part)})
                _run([go(), "install", *build_flags(p, part), f"{p.module}@{p.version}"],
                     env=env, cwd=part, timeout=p.timeout, log=log)
            else:
                work = part / ".work"
                work.mkdir()
                src = _copy_module(p, work, log)
                _run([go(), "build", *build_flags(p, part), p.package],
                     env=go_env(p.env, main_module=True), cwd=src, timeout=p.timeout, log=log)
                shutil.rmtree(work)
            if not (part / p.binary).is_file():
                raise BuildError(f"{name}: the build produced no {p.binary} in {part}; whole output: {log}")
        except BaseException:
            shutil.rmtree(part, ignore_errors=True)
            raise
        _stamp(part).write_text(json.dumps({"pin": p.fingerprint, "seconds": round(time.monotonic() - started),
                                            "goproxy": goproxy_setting()}, indent=1))
        shutil.rmtree(out, ignore_errors=True)
        part.rename(out)
        return built(name)
