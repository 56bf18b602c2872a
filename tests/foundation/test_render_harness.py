"""The render harness: parsed documents, no empties, Helm's stderr in errors, one render per input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from todo_cloud import envs, render, yamlfile
from todo_cloud.paths import CHARTS
from todo_cloud.render import RenderError, render_chart

# What an environment gives the app chart besides its defaults (config/environments.yaml): the registry and
# PostgreSQL's address, which the chart requires rather than guesses.
LOCAL_FACTS = {"image": {"registry": envs.get("local").image_registry},
               "networkPolicy": {"database": {"cidr": envs.get("local").database_cidr}}}


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    (root / "templates").mkdir(parents=True)
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("name: one\nfailWith: ''\n")
    (root / "templates" / "cm.yaml").write_text(
        "{{- if .Values.failWith }}{{ fail .Values.failWith }}{{ end }}\n"
        "---\n# only a comment\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n"
        "data:\n  ns: {{ .Release.Namespace }}\n"
    )
    return root


def test_documents_are_parsed_and_empties_dropped(chart: Path) -> None:
    docs = render_chart(chart, namespace="elsewhere")
    assert [d["kind"] for d in docs] == ["ConfigMap"]
    assert docs[0]["data"]["ns"] == "elsewhere"


def test_values_files_apply_in_order_and_overrides_last(chart: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    first.write_text("name: two\n")
    second.write_text("name: three\n")
    assert render.get(render_chart(chart, [first, second]), "ConfigMap", "three")
    assert render.get(render_chart(chart, [first], {"name": "four"}), "ConfigMap", "four")


def test_failure_carries_helms_stderr(chart: Path) -> None:
    with pytest.raises(RenderError, match=r"failWith\.is\.named"):
        render_chart(chart, overrides={"failWith": "failWith.is.named here"})


def test_same_inputs_render_once(chart: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = render._helm_template

    def counting(*args: object) -> list:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(render, "_helm_template", counting)
    render._memory.clear()
    first = render_chart(chart, overrides={"name": "cached-once"})
    render._memory.clear()  # the on-disk cache serves other processes (xdist workers) too
    second = render_chart(chart, overrides={"name": "cached-once"})
    assert first == second and len(calls) <= 1


def test_a_changed_template_is_rendered_again(chart: Path) -> None:
    before = render_chart(chart, overrides={"name": "changing"})
    (chart / "templates" / "extra.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n")
    after = render_chart(chart, overrides={"name": "changing"})
    assert len(after) == len(before) + 1


def test_manifests_are_written_one_file_per_kind_and_name(tmp_path: Path) -> None:
    docs = [
        {"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}},
        {"kind": "ConfigMap", "metadata": {"name": "a", "namespace": "y"}},
        {"kind": "Service", "metadata": {"name": "a"}},
    ]
    written = render.write_manifests(docs, tmp_path / "out", "rendered by a test, do not edit")
    assert sorted(p.name for p in written) == ["configmap-a.yaml", "service-a.yaml", "y-configmap-a.yaml"]
    assert yamlfile.load(written[1])["metadata"]["namespace"] == "y"


def test_our_charts_render_before_make_deps_with_their_library_linked(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("app", "todo-chatbot-lib"):
        shutil.copytree(CHARTS / name, tmp_path / name, symlinks=True, ignore=shutil.ignore_patterns("charts"))
    monkeypatch.setattr(render, "CHARTS", tmp_path)
    docs = render_chart(tmp_path / "app", overrides={"global": {"environment": "local"}, **LOCAL_FACTS})
    assert (tmp_path / "app" / "charts" / "todo-chatbot-lib").is_symlink()
    assert {d["metadata"]["labels"]["helm.sh/chart"] for d in docs if d["kind"] == "Service"} == {"app-0.1.0"}
