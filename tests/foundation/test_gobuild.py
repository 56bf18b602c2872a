"""todo_cloud.gobuild, the one home of the pinned Go builds: the project's module proxy in front of GOPROXY,
one build per pin however many workers ask, nothing half-built left behind, failures that name the command.

A stand-in `go` (a shell script recording its calls) replaces the toolchain here: what is pinned is the
builder's behaviour, not Go's; the real builds are exercised by the suites that use their binaries."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from todo_cloud import gobuild, paths, versions

FAKE_GO = """#!/bin/sh
# stand-in go: records its arguments and environment, then does what the test asked for
echo "$* GOPROXY=$GOPROXY CGO_ENABLED=$CGO_ENABLED GOFLAGS=$GOFLAGS" >> "{calls}"
sleep {delay}
if [ -n "{fail}" ]; then echo "compile: something is broken" >&2; echo "{fail}" >&2; exit 2; fi
if [ "$1" = install ]; then printf '#!/bin/sh\\necho built\\n' > "$GOBIN/{binary}"; chmod +x "$GOBIN/{binary}"; fi
"""


@pytest.fixture
def fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A stand-in `go`, a private go-bin folder and a pin `demo` in [go_tools]; returns the calls file."""
    calls = tmp_path / "calls"
    calls.touch()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GOPROXY", "https://proxy.example,direct")
    monkeypatch.setenv("TODO_CLOUD_GOPROXY", str(tmp_path / "no-goproxy"))
    gobuild._machine_goproxy.cache_clear()
    data = dict(versions.load())
    data["go_tools"] = {"demo": {"module": "example.com/demo/cmd/demo", "version": "v1.2.3",
                                "ldflags": "-X example.com/demo.Version=1.2.3"}}
    monkeypatch.setattr(versions, "load", lambda: data)
    write_fake_go(tmp_path, monkeypatch)
    yield calls
    gobuild._machine_goproxy.cache_clear()


def write_fake_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, fail: str = "", delay: float = 0) -> None:
    script = tmp_path / "go"
    script.write_text(FAKE_GO.format(calls=tmp_path / "calls", delay=delay, fail=fail, binary="demo"))
    script.chmod(0o755)
    monkeypatch.setattr(gobuild, "go", lambda: str(script))


def test_builds_install_with_the_projects_flags_into_the_pins_folder(fake_go: Path) -> None:
    binary = gobuild.build("demo")
    assert binary == gobuild.go_bin() / "demo-v1.2.3" / "demo"
    call = fake_go.read_text().strip()
    assert call.startswith("install -trimpath -ldflags -X example.com/demo.Version=1.2.3 "
                           "example.com/demo/cmd/demo@v1.2.3")
    assert "CGO_ENABLED=0" in call
    assert "GOFLAGS=-buildvcs=false" in call
    assert json.loads((binary.parent / ".build.json").read_text())["pin"] == gobuild.pin("demo").fingerprint


def test_parallel_workers_build_a_pin_once(fake_go: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_go(tmp_path, monkeypatch, delay=1)
    results: list[Path] = []
    workers = [threading.Thread(target=lambda: results.append(gobuild.build("demo"))) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert len(results) == 3
    assert len(set(results)) == 1
    assert len(fake_go.read_text().splitlines()) == 1


def test_a_failed_build_names_the_command_and_its_stderr_and_leaves_nothing_half_built(
        fake_go: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake_go(tmp_path, monkeypatch, fail="undefined: thing")
    with pytest.raises(gobuild.BuildError) as err:
        gobuild.build("demo")
    message = str(err.value)
    assert "command failed (exit 2)" in message
    assert "install -trimpath" in message
    assert "example.com/demo/cmd/demo@v1.2.3" in message
    assert "undefined: thing" in message
    assert str(gobuild.go_bin() / "demo-v1.2.3.log") in message
    assert not list(gobuild.go_bin().glob("demo-*.part"))
    assert not gobuild.is_built("demo")


def test_a_build_of_another_pin_is_stale_and_rebuilt(fake_go: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gobuild.build("demo")
    data = dict(versions.load())
    data["go_tools"] = {"demo": {**data["go_tools"]["demo"], "ldflags": "-X example.com/demo.Version=9"}}
    monkeypatch.setattr(versions, "load", lambda: data)
    assert not gobuild.is_built("demo")
    with pytest.raises(gobuild.BuildError, match=r"demo v1\.2\.3 is not built: run `todo-cloud tools-go"):
        gobuild.built("demo")
    gobuild.build("demo")
    assert len(fake_go.read_text().splitlines()) == 2


def test_a_copy_gets_the_pins_raised_requirements_and_they_count_in_its_fingerprint(
        fake_go: Path, tmp_path: Path) -> None:
    plain = gobuild.GoPin("demo", "go_builds", "example.com/demo", "v1.2.3", "demo")
    raised = gobuild.GoPin("demo", "go_builds", "example.com/demo", "v1.2.3", "demo",
                           require={"k8s.io/b": "v0.1.3", "k8s.io/a": "v0.1.3"})
    gobuild._require(plain, tmp_path, tmp_path / "log")
    assert fake_go.read_text() == ""
    gobuild._require(raised, tmp_path, tmp_path / "log")
    assert fake_go.read_text().startswith("mod edit -require=k8s.io/a@v0.1.3 -require=k8s.io/b@v0.1.3 ")
    assert "require" not in plain.fingerprint
    assert raised.fingerprint["require"] == {"k8s.io/a": "v0.1.3", "k8s.io/b": "v0.1.3"}


def test_the_projects_go_proxy_goes_in_front_of_the_machines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "goproxy"
    local.mkdir()
    monkeypatch.setenv("GOPROXY", "https://proxy.example,direct")
    monkeypatch.setenv("TODO_CLOUD_GOPROXY", str(local))
    gobuild._machine_goproxy.cache_clear()
    try:
        assert gobuild.goproxy_setting() == f"file://{local},https://proxy.example,direct"
        assert gobuild.go_env()["GOPROXY"] == f"file://{local},https://proxy.example,direct"
        monkeypatch.setenv("TODO_CLOUD_GOPROXY", str(tmp_path / "absent"))
        assert gobuild.goproxy_setting() == "https://proxy.example,direct"
    finally:
        gobuild._machine_goproxy.cache_clear()


def test_the_go_proxy_setting_defaults_to_the_shared_folder_beside_the_repository(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TODO_CLOUD_GOPROXY", raising=False)
    assert paths.goproxy() == paths.REPO.parent / "shared" / "goproxy"


def test_an_unknown_pin_is_named() -> None:
    with pytest.raises(gobuild.BuildError, match=r"no \[go_tools\.nothing\] or \[go_builds\.nothing\] table"):
        gobuild.pin("nothing")


def test_go_tools_and_go_builds_share_one_set_of_flags() -> None:
    for name in gobuild.names():
        p = gobuild.pin(name)
        flags = gobuild.build_flags(p, Path("/out"))
        assert flags[0] == "-trimpath", name
        if p.ldflags:
            assert flags[flags.index("-ldflags") + 1] == p.ldflags, name


INIT_GO = """package init

import (
\tbackendLocal "example.com/tofu/backend/local"
\tbackendGCS "example.com/tofu/backend/gcs"
\tbackendGCSX "example.com/tofu/backend/gcsx"
)

var backends = map[string]func(){
\t"local": backendLocal.New,
\t"gcs":   backendGCS.New,
\t"gcsx":  backendGCSX.New,
}
"""


def _dropping(words: tuple[str, ...], rel: str = "init/init.go") -> gobuild.GoPin:
    return gobuild.GoPin("demo", "go_builds", "example.com/demo", "v1.2.3", "demo", drop={rel: words})


def test_a_copy_loses_the_lines_naming_a_dropped_word_and_only_those(tmp_path: Path) -> None:
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "init.go").write_text(INIT_GO)
    gobuild._drop_lines(_dropping(("backendGCS",)), tmp_path)
    kept = (tmp_path / "init" / "init.go").read_text()
    assert "backendGCS " not in kept and "backendGCS." not in kept
    assert kept.count("backendGCSX") == 2 and kept.count("backendLocal") == 2  # whole words only
    assert kept == "".join(line for line in INIT_GO.splitlines(keepends=True) if "backendGCS " not in line
                           and "backendGCS." not in line)


def test_a_dropped_word_that_names_no_line_fails_naming_it_and_the_file(tmp_path: Path) -> None:
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "init.go").write_text(INIT_GO)
    with pytest.raises(gobuild.BuildError, match=r"no line of init/init.go names backendAzure \(versions.toml "
                                                 r"\[go_builds.demo\] drop\)"):
        gobuild._drop_lines(_dropping(("backendGCS", "backendAzure")), tmp_path)
    assert (tmp_path / "init" / "init.go").read_text() == INIT_GO, "nothing is half-applied"
    with pytest.raises(gobuild.BuildError, match=r"init/absent.go is not in the module"):
        gobuild._drop_lines(_dropping(("backendGCS",), "init/absent.go"), tmp_path)


def test_dropped_lines_count_in_the_fingerprint_and_the_tofu_pin_drops_backends() -> None:
    assert "drop" not in gobuild.GoPin("demo", "go_builds", "example.com/demo", "v1.2.3", "demo").fingerprint
    assert _dropping(("backendGCS",)).fingerprint["drop"] == {"init/init.go": ["backendGCS"]}
    tofu = gobuild.pin("tofu")
    assert "backendS3" not in tofu.drop["internal/backend/init/init.go"]  # our state backend (Spaces) stays
    assert "backendKubernetes" in tofu.drop["internal/backend/init/init.go"]
