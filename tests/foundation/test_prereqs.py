"""The suite's prerequisites (todo_cloud.prereqs, `make prereqs` inside `make test`): built in an order where the
long builds never overlap, every one attempted, a failure named with its reason and the exit code 1; and a test
that needs a missing prerequisite (or the upstream charts) fails, it never skips."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from todo_cloud import gobuild, prereqs
from todo_cloud.cli import main
from todo_cloud.paths import REPO
from todo_cloud.run import run

TESTS = REPO / "tests"


def names(lane: str | None = None) -> list[str]:
    return [p.name for p in prereqs.all_prerequisites() if lane in (None, p.lane)]


def test_every_go_build_the_suite_runs_is_a_prerequisite() -> None:
    # kind and the DigitalOcean provider are not: kind runs only where Docker is, the provider is refused by
    # the module proxy (tests/terraform skips the provider check saying so).
    assert set(gobuild.names()) - set(names()) == {"kind", "terraform-provider-digitalocean"}


def test_the_long_builds_run_last_and_prometheus_before_promtool() -> None:
    lane = names(prereqs.BUILD)
    assert lane[-2:] == ["sim", "tofu"]
    assert lane.index("prometheus") < lane.index("promtool")


def test_downloads_have_a_lane_of_their_own() -> None:
    # network- or package-bound: the Kafka jars (Maven), the external CRDs (Go module proxy), Debian's PostgreSQL
    assert set(names(prereqs.DOWNLOAD)) == {"kafka-jars", "postgresql", *(n for n in names() if n.startswith("crds-"))}


def test_an_unknown_prerequisite_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"no prerequisite 'nope'; known: checkov, actionlint"):
        prereqs.get("nope")


def fake(name: str, lane: str, log: list[tuple[str, str, float]], *, present: bool = False,
         fails: bool = False) -> prereqs.Prerequisite:
    """A prerequisite whose build takes 0.2 s and records (name, start|end, time) in `log`."""

    def find() -> Path:
        if present:
            return Path(f"/found/{name}")
        raise prereqs.Missing(f"{name} is not built")

    def make() -> Path:
        log.append((name, "start", time.monotonic()))
        time.sleep(0.2)
        log.append((name, "end", time.monotonic()))
        if fails:
            raise prereqs.Missing(f"{name} could not be built: the proxy said 403")
        return Path(f"/built/{name}")

    return prereqs.Prerequisite(name, f"the {name}", lane, find, make)


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, float]]:
    log: list[tuple[str, str, float]] = []
    items = [fake("short", prereqs.BUILD, log), fake("there", prereqs.BUILD, log, present=True),
             fake("broken", prereqs.BUILD, log, fails=True), fake("long", prereqs.BUILD, log),
             fake("jars", prereqs.DOWNLOAD, log)]
    monkeypatch.setattr(prereqs, "all_prerequisites", lambda: items)
    return log


def test_builds_run_one_at_a_time_downloads_beside_them(fakes: list[tuple[str, str, float]]) -> None:
    outcomes = prereqs.build(report=lambda line: None)
    assert [(o.name, o.status) for o in outcomes] == [
        ("short", "made"), ("there", "ready"), ("broken", "failed"), ("long", "made"), ("jars", "made")]
    builds = [(n, e) for n, e, _ in fakes if n != "jars"]
    assert builds == [("short", "start"), ("short", "end"), ("broken", "start"), ("broken", "end"),
                      ("long", "start"), ("long", "end")]
    at = {(n, e): t for n, e, t in fakes}
    assert at[("jars", "start")] < at[("short", "end")], "the download lane waits for no build"
    assert outcomes[2].detail == "broken could not be built: the proxy said 403"


def test_the_command_fails_naming_what_could_not_be_had(fakes: list[tuple[str, str, float]],
                                                        capsys: pytest.CaptureFixture) -> None:
    del fakes
    assert main(["prereqs"]) == 1
    out, err = capsys.readouterr()
    assert "FAILED broken" in out and "built  long" in out and "ready  there" in out
    assert "1 prerequisite(s) of the test suite could not be had: broken" in err


def test_check_builds_nothing_and_fails_on_a_missing_one(fakes: list[tuple[str, str, float]],
                                                         capsys: pytest.CaptureFixture) -> None:
    assert main(["prereqs", "--check", "there"]) == 0
    assert main(["prereqs", "--check", "there", "long"]) == 1
    assert "MISSING long" in capsys.readouterr().out
    assert not fakes


# --- a missing prerequisite fails the test that needs it ---------------------------------------------------

PROBE = '''
import pytest

@pytest.mark.upstream
def test_marked_upstream():
    pass

def test_through_the_fixture(upstream_charts):
    pass

def test_built_prerequisite(prerequisite):
    prerequisite("sim")
'''
# Makes the upstream charts unavailable in the probe's session only (the repository's charts stay in place).
PROBE_PLUGIN = '''
from todo_cloud import deps

deps.ensure = lambda: deps.DepsStatus(False, "none", "upstream chart demo 1.2.3: no chart mirror, and "
                                      "https://charts.invalid/ is not reachable (probe)")
'''


def test_a_missing_prerequisite_fails_the_tests_that_need_it_and_skips_none(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    (tmp_path / "probe_plugin.py").write_text(PROBE_PLUGIN)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{TESTS}:{tmp_path}", "HOME": str(tmp_path), "COLUMNS": "1000",
           "TODO_CLOUD_SIM_BIN": str(tmp_path / "no-sim")}
    # tests/conftest.py, loaded as a plugin, is the one place that requires them.
    proc = run([sys.executable, "-m", "pytest", "-p", "probe_plugin", "-p", "conftest", "-p", "no:cacheprovider",
                "-p", "no:xdist",
                "-rA", "-q", "--rootdir", tmp_path, "-c", "/dev/null", tmp_path], check=False, cwd=tmp_path,
               env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "skipped" not in out.splitlines()[-1], out
    assert "3 errors" in out.splitlines()[-1] or "failed" in out.splitlines()[-1], out
    for test in ("test_marked_upstream", "test_through_the_fixture"):
        line = next(x for x in out.splitlines() if x.startswith(("ERROR", "FAILED")) and test in x)
        assert "upstream charts unavailable (`make deps`): upstream chart demo 1.2.3" in line, line
    line = next(x for x in out.splitlines() if x.startswith(("ERROR", "FAILED")) and "test_built_prerequisite" in x)
    assert "prerequisite missing: sim: simulated cluster binaries not built" in line, line


def test_a_test_that_uses_the_upstream_charts_fixture_is_marked_before_m_selects(tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{TESTS}:{tmp_path}", "HOME": str(tmp_path)}
    selected = {}
    for expression in ("upstream", "not upstream"):
        proc = run([sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-p", "no:xdist",
                    "-q", "--collect-only", "-m", expression, "--rootdir", tmp_path, "-c", "/dev/null", tmp_path],
                   check=False, cwd=tmp_path, env=env, timeout=120)
        selected[expression] = sorted(x.split("::")[-1] for x in proc.stdout.splitlines() if "::" in x)
    assert selected == {"upstream": ["test_marked_upstream", "test_through_the_fixture"],
                        "not upstream": ["test_built_prerequisite"]}


def test_the_prerequisite_fixture_returns_where_it_is(prerequisite) -> None:  # type: ignore[no-untyped-def]
    assert prerequisite("actionlint") == gobuild.built("actionlint")

