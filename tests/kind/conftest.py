"""Fixtures of the kind tests (make up without Docker: recorded command sequences)."""

from __future__ import annotations

from pathlib import Path

import pytest

from todo_cloud import tools


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH with nothing but the fakes the test puts into the returned folder; no Go-built kind."""
    monkeypatch.setenv("PATH", str(tmp_path))

    def no_built_kind(name: str) -> Path:
        raise tools.ToolError(f"{name} is not built (test)")

    monkeypatch.setattr(tools, "go_tool", no_built_kind)
    return tmp_path
