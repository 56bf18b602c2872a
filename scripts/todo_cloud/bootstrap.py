"""Bootstrap: everything `make test` needs, idempotent and quick when already done. Standard library only.

Steps:
1. the tooling venv (.venv) from requirements.lock, with this package installed editable;
2. helm and kubectl at their pinned versions in .tools/bin (see todo_cloud.tools);
3. checkov in its own venv (.tools/venvs/checkov) from tools/checkov.lock;
4. the Go-built tools of versions.toml [go_tools] marked `bootstrap = true`, into the user cache.

Usage: PYTHONPATH=scripts python3 -m todo_cloud.bootstrap [--quiet]
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import venv
from pathlib import Path

from todo_cloud import tools, versions
from todo_cloud.paths import REPO, TOOLS, VENV

CHECKOV_VENV = TOOLS / "venvs" / "checkov"


def _fingerprint(*files: Path) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for f in files:
        digest.update(f.read_bytes())
    return digest.hexdigest()


def _ensure_venv(where: Path, lock: Path, extra: list[list[str]] | None = None) -> bool:
    """Create `where` and install `lock` into it unless its stamp says it is current. True when it ran."""
    stamp = where / ".bootstrap-stamp"
    fingerprint = _fingerprint(lock, REPO / "pyproject.toml")
    if stamp.is_file() and stamp.read_text() == fingerprint and (where / "bin" / "python").is_file():
        return False
    if not (where / "bin" / "python").is_file():
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
    python = str(where / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "install", "-r", str(lock)], check=True)
    for args in extra or []:
        subprocess.run([*pip, *args], check=True)
    stamp.write_text(fingerprint)
    return True


def main(argv: list[str] | None = None) -> int:
    quiet = "--quiet" in (argv if argv is not None else sys.argv[1:])
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under any system python3
        print(f"error: Python >= 3.11 is needed, this is {sys.version.split()[0]}", file=sys.stderr)
        return 1
    pins = versions.load()
    done: list[str] = []
    try:
        if _ensure_venv(VENV, REPO / pins["python"]["lock"],
                        [["install", "--no-deps", "--no-build-isolation", "-e", str(REPO)]]):
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
