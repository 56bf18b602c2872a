"""`make deps`: upstream charts from a local mirror (digest-checked) or upstream; a clear reason otherwise."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
import yaml

from todo_cloud import deps, paths, versions, yamlfile
from todo_cloud.paths import CHARTS


def _chart_tgz(name: str, version: str) -> bytes:
    chart_yaml = f"apiVersion: v2\nname: {name}\nversion: {version}\n".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(chart_yaml)
        tar.addfile(info, io.BytesIO(chart_yaml))
    return buf.getvalue()


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """deps working on a throwaway charts/ folder with one fake upstream chart, and no local charts."""
    charts_dir = tmp_path / "umbrella-charts"
    monkeypatch.setattr(deps, "CHARTS_DIR", charts_dir)
    monkeypatch.setattr(deps, "STATUS_FILE", tmp_path / "status.json")
    monkeypatch.setattr(deps, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(versions, "local_charts", lambda: [])
    fake = versions.UpstreamChart("demo", "1.2.3", "https://charts.invalid/")
    monkeypatch.setattr(versions, "upstream_charts", lambda: [fake])
    monkeypatch.setenv("TODO_CLOUD_CHART_MIRROR", str(tmp_path / "mirror"))
    return tmp_path


def _mirror(root: Path, data: bytes, digest: str) -> Path:
    mirror = root / "mirror"
    mirror.mkdir(exist_ok=True)
    (mirror / "demo-1.2.3.tgz").write_bytes(data)
    index = {"apiVersion": "v1", "entries": {"demo": [
        {"name": "demo", "version": "1.2.3", "digest": digest, "urls": ["demo-1.2.3.tgz"]}]}}
    (mirror / "index.yaml").write_text(yaml.safe_dump(index))
    return mirror


def test_chart_is_taken_from_the_mirror_when_its_digest_matches(sandbox: Path) -> None:
    data = _chart_tgz("demo", "1.2.3")
    _mirror(sandbox, data, hashlib.sha256(data).hexdigest())
    status = deps.ensure()
    assert status.ready and "mirror" in status.source
    assert (sandbox / "umbrella-charts" / "demo-1.2.3.tgz").read_bytes() == data


def test_corrupt_mirror_chart_is_refused_by_name(sandbox: Path) -> None:
    _mirror(sandbox, _chart_tgz("demo", "1.2.3"), "0" * 64)
    with pytest.raises(deps.DepsError, match=r"mirror chart demo-1\.2\.3\.tgz is corrupt"):
        deps.ensure()
    assert not (sandbox / "umbrella-charts" / "demo-1.2.3.tgz").exists()


def test_unreachable_chart_gives_a_one_line_reason_naming_it(sandbox: Path) -> None:
    status = deps.ensure()
    assert not status.ready
    assert "demo 1.2.3" in status.reason and "https://charts.invalid/" in status.reason
    assert "\n" not in status.reason


def test_stale_chart_versions_are_removed(sandbox: Path) -> None:
    data = _chart_tgz("demo", "1.2.3")
    _mirror(sandbox, data, hashlib.sha256(data).hexdigest())
    (sandbox / "umbrella-charts").mkdir()
    (sandbox / "umbrella-charts" / "demo-1.0.0.tgz").write_bytes(b"old")
    deps.ensure()
    assert sorted(p.name for p in (sandbox / "umbrella-charts").glob("*.tgz")) == ["demo-1.2.3.tgz"]


def _local_chart(root: Path, name: str, version: str = "0.1.0", needs: dict[str, str] | None = None) -> Path:
    """charts/<name> under `root`, depending on `needs` (name -> version) through file://../<name>."""
    chart = root / name
    chart.mkdir(parents=True)
    meta: dict = {"apiVersion": "v2", "name": name, "version": version}
    if needs:
        meta["dependencies"] = [{"name": n, "version": v, "repository": f"file://../{n}"} for n, v in needs.items()]
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta))
    return chart


def test_file_dependencies_are_linked_relatively_and_in_turn(tmp_path: Path) -> None:
    _local_chart(tmp_path, "base")
    _local_chart(tmp_path, "lib", needs={"base": "0.1.0"})
    app = _local_chart(tmp_path, "app", needs={"lib": "0.1.0"})
    (app / "charts" / "lib").mkdir(parents=True)  # a stale copy is replaced by the link
    deps.link_file_dependencies(app)
    deps.link_file_dependencies(app)
    link = app / "charts" / "lib"
    assert link.is_symlink() and link.readlink() == Path("../../lib")
    assert (link / "charts" / "base" / "Chart.yaml").is_file()
    assert sorted(p.name for p in (app / "charts").iterdir()) == ["lib"]


def test_a_file_dependency_of_another_version_is_refused_naming_both(tmp_path: Path) -> None:
    _local_chart(tmp_path, "lib", version="0.2.0")
    app = _local_chart(tmp_path, "app", needs={"lib": "0.1.0"})
    with pytest.raises(deps.DepsError, match=r"app/Chart\.yaml: dependency lib 0\.1\.0, but lib/Chart\.yaml is "
                                             r"version 0\.2\.0"):
        deps.link_file_dependencies(app)
    assert not (app / "charts" / "lib").exists()


def test_a_file_dependency_without_a_chart_is_refused(tmp_path: Path) -> None:
    app = _local_chart(tmp_path, "app", needs={"lib": "0.1.0"})
    with pytest.raises(deps.DepsError, match=r"app/Chart\.yaml: dependency lib points at .*, which holds no chart"):
        deps.link_file_dependencies(app)


@pytest.mark.parametrize("chart", ["app", "platform"])
def test_our_charts_depend_on_the_library_at_its_version(chart: str) -> None:
    found = deps.file_dependencies(CHARTS / chart)
    library = yamlfile.load(CHARTS / "todo-chatbot-lib" / "Chart.yaml")
    assert found == [("todo-chatbot-lib", library["version"], CHARTS / "todo-chatbot-lib")]
    assert library["type"] == "library"


def test_todo_cloud_deps_fails_naming_the_chart_it_cannot_get(sandbox: Path, capsys: pytest.CaptureFixture) -> None:
    assert deps.main() == 1
    err = capsys.readouterr().err
    assert err.startswith("deps: error: upstream chart demo 1.2.3") and "https://charts.invalid/" in err


def test_todo_cloud_deps_passes_with_every_chart_in_place(sandbox: Path, capsys: pytest.CaptureFixture) -> None:
    data = _chart_tgz("demo", "1.2.3")
    _mirror(sandbox, data, hashlib.sha256(data).hexdigest())
    assert deps.main() == 0
    assert "ready (from mirror" in capsys.readouterr().out


def test_fetch_takes_a_version_no_longer_pinned_from_the_mirror(sandbox: Path) -> None:
    data = _chart_tgz("demo", "1.2.3")
    _mirror(sandbox, data, hashlib.sha256(data).hexdigest())
    got = deps.fetch(versions.UpstreamChart("demo", "1.2.3", "https://charts.invalid/"), sandbox / "old")
    assert got == sandbox / "old" / "demo-1.2.3.tgz" and got.read_bytes() == data


def test_fetch_names_the_chart_it_cannot_get(sandbox: Path) -> None:
    with pytest.raises(deps.DepsError, match=r"upstream chart demo 0\.9\.0: not in the chart mirror .*"
                                             r"https://charts\.invalid/ is not reachable"):
        deps.fetch(versions.UpstreamChart("demo", "0.9.0", "https://charts.invalid/"), sandbox / "old")


# --- where the chart mirror is looked for -----------------------------------------------------------------


@pytest.fixture
def mirror_places(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    """A repository at tmp/work/repo (so its shared mirror is tmp/work/shared/chart-mirror) and a user cache."""
    monkeypatch.setattr(paths, "REPO", tmp_path / "work" / "repo")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TODO_CLOUD_CHART_MIRROR", raising=False)
    return tmp_path / "work" / "shared" / "chart-mirror", tmp_path / "cache" / "todo-chatbot-cloud" / "chart-mirror"


def _index(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.yaml").write_text("apiVersion: v1\nentries: {}\n")
    return folder


def test_the_shared_mirror_beside_the_repository_comes_first(mirror_places: tuple[Path, Path]) -> None:
    shared, user = mirror_places
    _index(shared), _index(user)
    assert paths.chart_mirror() == shared


def test_the_user_cache_mirror_is_used_where_there_is_no_shared_one(mirror_places: tuple[Path, Path]) -> None:
    shared, user = mirror_places
    _index(user)
    assert paths.chart_mirror() == user
    shared.mkdir(parents=True)  # a folder without index.yaml is no mirror
    assert paths.chart_mirror() == user


def test_the_setting_names_the_one_mirror(mirror_places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    _index(mirror_places[0])
    monkeypatch.setenv("TODO_CLOUD_CHART_MIRROR", str(tmp_path / "elsewhere"))
    assert paths.chart_mirrors() == [tmp_path / "elsewhere"] and paths.chart_mirror() == tmp_path / "elsewhere"


def test_without_any_mirror_the_reason_names_where_one_was_looked_for(
        sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TODO_CLOUD_CHART_MIRROR")
    monkeypatch.setattr(paths, "REPO", sandbox / "work" / "repo")
    monkeypatch.setenv("XDG_CACHE_HOME", str(sandbox / "cache"))
    status = deps.ensure()
    assert not status.ready
    assert (f"no chart mirror (no index.yaml in {sandbox}/work/shared/chart-mirror or {sandbox}/cache/"
            "todo-chatbot-cloud/chart-mirror)") in status.reason
