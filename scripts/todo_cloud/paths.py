"""Well-known locations in the repository and outside it. Standard library only (used by the bootstrap)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VERSIONS_FILE = REPO / "versions.toml"
CHARTS = REPO / "charts"
UMBRELLA = CHARTS / "todo-chatbot-cloud"
VALUES = REPO / "values"
CONFIG = REPO / "config"
DOCS = REPO / "docs"
TERRAFORM = REPO / "terraform"

# Bootstrap output inside the repo (ignored by git).
VENV = REPO / ".venv"
TOOLS = REPO / ".tools"
TOOLS_BIN = TOOLS / "bin"
CACHE = REPO / ".cache"


def user_cache() -> Path:
    """Cache shared by all clones on this machine (downloads, built binaries, a chart mirror)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "todo-chatbot-cloud"


def chart_mirrors() -> list[Path]:
    """Where a local chart repository (index.yaml + packaged charts) is looked for, in order: the folder
    `TODO_CLOUD_CHART_MIRROR` names (alone, when set), else `shared/chart-mirror` beside the repository (the
    machine's shared mirror, as for `goproxy()`), then the user cache's `chart-mirror` folder."""
    configured = os.environ.get("TODO_CLOUD_CHART_MIRROR")
    if configured:
        return [Path(configured)]
    return [REPO.parent / "shared" / "chart-mirror", user_cache() / "chart-mirror"]


def chart_mirror() -> Path:
    """The one setting for air-gapped installs: the first of `chart_mirrors()` that holds an index.yaml (the
    last of them when none does, so that messages name where a mirror would be looked for)."""
    candidates = chart_mirrors()
    return next((m for m in candidates if (m / "index.yaml").is_file()), candidates[-1])


def goproxy() -> Path:
    """The project's file-based Go module proxy (modules the module proxy refuses here, with the checksums of
    the go.sum that needs them): put in front of GOPROXY by every Go build (todo_cloud.gobuild) when it exists.

    `TODO_CLOUD_GOPROXY` names it; by default the `shared/goproxy` folder beside the repository.
    """
    configured = os.environ.get("TODO_CLOUD_GOPROXY")
    return Path(configured) if configured else REPO.parent / "shared" / "goproxy"
