"""Bootstrap: everything `make test` needs, idempotent and quick when already done. Standard library only.

Steps:
1. the tooling venv (.venv) from requirements.lock, with this package installed editable;
2. helm and kubectl at their pinned versions in .tools/bin (see todo_cloud.tools);
3. checkov in its own venv (.tools/venvs/checkov) from tools/checkov.lock;
4. the Go-built tools of versions.toml [go_tools] marked `bootstrap = true`, into the user cache.

The venvs are made by Python's own `venv` and filled by uv (versions.toml [tools.uv], pip-installed once into
the user cache): from its cache it links a lock's packages into a venv in seconds, where pip took ~50 s per
venv on 2 cores, most of it on every fresh clone. Modules are compiled to bytecode when first imported.

Usage: PYTHONPATH=scripts python3 -m todo_cloud.bootstrap [--quiet]
       PYTHONPATH=scripts python3 -m todo_cloud.bootstrap --versions   (CI: `python=...` and `go=...` lines of
       versions.toml for $GITHUB_OUTPUT, before any Python or Go is installed; the runner's python3 reads them)
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from todo_cloud import tools, versions
from todo_cloud.paths import REPO, TOOLS, VENV, user_cache

CHECKOV_VENV = TOOLS / "venvs" / "checkov"


def _fingerprint(*files: Path) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()


def uv() -> Path:
    """The pinned uv, pip-installed (from PyPI or pip's cache, one of the pinned wheels by sha256) into the user
    cache when it is not there yet."""
    pin = versions.tool("uv")
    version = str(pin["version"])
    home = user_cache() / f"uv-{version}"
    binary = home / "bin" / "uv"
    if binary.is_file() and _reports(binary, f"uv {version}"):
        return binary
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=home.parent) as requirement:
        requirement.write(f"uv=={version} " + " ".join(f"--hash=sha256:{h}" for h in pin["wheel_sha256"]) + "\n")
        requirement.flush()
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--root-user-action=ignore", "--upgrade", "--require-hashes", "--only-binary=:all:",
                        "--target", str(home), "-r", requirement.name], check=True)
    if not _reports(binary, f"uv {version}"):
        raise tools.ToolError(f"uv {version}: pip installed no working {binary}")
    return binary


def _reports(binary: Path, version: str) -> bool:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return out.startswith(f"{version} ") or out.strip() == version


def _ensure_venv(where: Path, lock: Path, extra: list[list[str]] | None = None, with_pip: bool = False) -> bool:
    """Create `where` and install `lock` into it with uv unless its stamp says it is current. True when it ran.
    `with_pip`: the venv keeps a pip of its own (the tooling venv: `todo_cloud.tools` downloads with it)."""
    stamp = where / ".bootstrap-stamp"
    fingerprint = _fingerprint(lock, REPO / "pyproject.toml")
    if stamp.is_file() and stamp.read_text() == fingerprint and (where / "bin" / "python").is_file():
        return False
    if not (where / "bin" / "python").is_file():
        venv.EnvBuilder(with_pip=with_pip, clear=True).create(where)
    install = [str(uv()), "pip", "install", "--quiet", "--python", str(where / "bin" / "python")]
    subprocess.run([*install, "-r", str(lock)], check=True)
    for args in extra or []:
        subprocess.run([*install, *args], check=True)
    stamp.write_text(fingerprint)
    return True


def ci_versions() -> dict[str, str]:
    """The toolchain versions the CI workflows install, as versions.toml pins them."""
    pins = versions.load()
    return {"python": str(pins["python"]["version"]), "go": str(pins["go"]["version"])}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if "--versions" in args:
        for key, value in ci_versions().items():
            print(f"{key}={value}")
        return 0
    quiet = "--quiet" in args
    pins = versions.load()
    want = tuple(int(p) for p in str(pins["python"]["version"]).split("."))
    if sys.version_info[:len(want)] < want:
        print(f"error: Python >= {pins['python']['version']} is needed (versions.toml [python]), this is "
              f"{sys.version.split()[0]}", file=sys.stderr)
        return 1
    done: list[str] = []
    try:
        if _ensure_venv(VENV, REPO / pins["python"]["lock"],
                        [["--no-deps", "--no-build-isolation", "-e", str(REPO)]], with_pip=True):
            done.append("venv")
        for name in tools.MANAGED:
            tools.install(name)
        if _ensure_venv(CHECKOV_VENV, REPO / pins["tools"]["checkov"]["lock"]):
            done.append("checkov")
        done += tools.bootstrap_go_tools()
    except (tools.ToolError, subprocess.CalledProcessError) as exc:
        print(f"bootstrap failed: {exc}", file=sys.stderr)
        return 1
    if not quiet or done:
        print(f"bootstrap: ready ({', '.join(done) + ' installed' if done else 'nothing to do'}); "
              f"helm {pins['tools']['helm']['version']}, kubectl {pins['tools']['kubectl']['version']}, "
              f"checkov {pins['tools']['checkov']['version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
