"""`make bench`: the table of wall times against the targets, each verdict with the exit code of what was
timed (the measuring itself is `make bench`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from todo_cloud.commands import bench
from todo_cloud.paths import REPO
from todo_cloud.run import run


def test_the_table_shows_each_step_against_its_target_with_the_exit_code() -> None:
    text = bench.table([bench.Timing("render production (cold)", 1.2, 1.5, "300 objects", 0),
                        bench.Timing("gates together", 75.0, bench.GATES_TARGET, "", 1)])
    render_line, gates_line = text.splitlines()[2:]
    assert render_line.split()[:8] == ["render", "production", "(cold)", "1.20", "<", "1.5", "ok,", "exit"]
    assert render_line.split()[8] == "0"
    assert "SLOW, exit 1" in gates_line and "< 60" in gates_line


def test_the_render_is_held_to_one_and_a_half_raw_helm_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    def sleeping(seconds: float) -> Callable[[], bench.Outcome]:
        return lambda: (time.sleep(seconds), ("", 0))[1]

    monkeypatch.setattr(bench, "_helm_template", lambda env: sleeping(0.1))
    monkeypatch.setattr(bench, "_render_cold", lambda env: sleeping(0.3))
    raw, harness = bench.render_steps("local")
    assert harness.target == pytest.approx(bench.RENDER_FACTOR * raw.seconds)
    assert not harness.ok and harness.verdict == "SLOW, exit 0"
    assert bench.failed([raw, harness]) == [harness]


def test_a_fast_render_that_failed_fails_the_bench() -> None:
    broken = bench.Timing("render local (cold)", 0.1, 1.0, "helm template failed", 1)
    gate_with_findings = bench.Timing("gates together", 10.0, bench.GATES_TARGET, "", 1)
    assert broken.ok and bench.failed([broken, gate_with_findings]) == [broken]
    assert (broken.verdict, gate_with_findings.verdict) == ("FAILED, exit 1", "ok, exit 1")


def test_a_step_that_breaks_is_reported_not_raised() -> None:
    def broken() -> bench.Outcome:
        raise RuntimeError("helm template failed\nmore")
    timing = bench.timed("render local (cold)", 2.0, broken)
    assert (timing.note, timing.exit_code, timing.verdict) == ("error: helm template failed", None, "FAILED, error")
    assert bench.failed([timing]) == [timing]


def test_a_simulated_cluster_that_cannot_start_fails_the_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    from todo_cloud.sim import cluster as sim

    def missing(env: str, **kwargs: object) -> None:
        raise sim.MissingBinaries("simulated cluster binaries not built: run `make sim-build`")

    monkeypatch.setattr(sim, "running", missing)
    timing = bench.timed("simulated cluster start (cached)", bench.SIM_START_TARGET, bench._sim_start)
    assert timing.exit_code is None and timing.verdict == "FAILED, error" and "make sim-build" in timing.note
    assert bench.failed([timing]) == [timing]


@pytest.mark.parametrize("exit_code", [0, 1, 2])
def test_every_verdict_that_ran_names_its_exit_code(exit_code: int) -> None:
    fast = bench.Timing("todo-cloud policy", 1.0, bench.GATES_TARGET, "", exit_code)
    slow = bench.Timing("todo-cloud policy", 99.0, bench.GATES_TARGET, "", exit_code)
    assert (fast.verdict, slow.verdict) == (f"ok, exit {exit_code}", f"SLOW, exit {exit_code}")


def test_a_fast_runtime_suite_that_failed_fails_the_bench_and_a_slow_one_too() -> None:
    failed = bench.Timing(bench.RUNTIME_SUITE, 60.0, bench.RUNTIME_SUITE_TARGET, "", 1)
    slow = bench.Timing(bench.RUNTIME_SUITE, 200.0, bench.RUNTIME_SUITE_TARGET, "", 0)
    ok = bench.Timing(bench.RUNTIME_SUITE, 150.0, bench.RUNTIME_SUITE_TARGET, "", 0)
    assert bench.failed([failed, slow, ok]) == [failed, slow]
    assert (failed.verdict, slow.verdict, ok.verdict) == ("FAILED, exit 1", "SLOW, exit 0", "ok, exit 0")


def test_the_runtime_suite_is_timed_warm_and_a_failed_warm_up_is_its_error(tmp_path: Path) -> None:
    def broken() -> None:
        raise RuntimeError("daprd could not be built: no Go\nmore")
    timing = bench.runtime_suite(tmp_path / "todo-cloud", warm=broken)
    assert (timing.step, timing.exit_code, timing.note) == (bench.RUNTIME_SUITE, None,
                                                            "error: warming up: daprd could not be built: no Go")
    assert bench.failed([timing]) == [timing]


def test_a_make_test_that_failed_fails_the_bench_however_fast() -> None:
    failed = bench.Timing("make test (cold, fresh clone)", 600.0, bench.MAKE_TEST_TARGETS["cold"], "", 2)
    slow = bench.Timing("make test (warm, fresh clone)", 800.0, bench.MAKE_TEST_TARGETS["warm"], "", 0)
    ok = bench.Timing("make test (warm, fresh clone)", 500.0, bench.MAKE_TEST_TARGETS["warm"], "", 0)
    assert bench.failed([failed, slow, ok]) == [failed, slow]
    assert failed.verdict == "FAILED, exit 2"


def test_a_failed_make_tests_whole_output_is_kept_and_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Proc:
        returncode, stdout, stderr = 1, "tests/x.py::test_y FAILED\n== 1 failed, 9 passed in 3.00s ==\n", "boom"

    monkeypatch.setattr(bench, "fresh_clone", lambda where: where)
    monkeypatch.setattr(bench, "run_command", lambda *args, **kwargs: Proc())
    monkeypatch.setattr(bench, "LOGS", tmp_path / "logs")
    timing = bench.make_test("warm", tmp_path)
    log = tmp_path / "logs" / "make-test-warm.log"
    assert (timing.exit_code, timing.verdict) == (1, "FAILED, exit 1")
    assert timing.note == f"1 failed, 9 passed in 3.00s; output: {log}"
    assert "tests/x.py::test_y FAILED" in log.read_text() and "boom" in log.read_text()


def test_a_failed_offline_suite_fails_the_bench_and_its_output_is_kept(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    class Proc:
        returncode, stdout, stderr = 1, "tests/x.py::test_y FAILED\n1 failed, 2300 passed in 80.00s\n", "warning"

    seen: list[list] = []
    monkeypatch.setattr(bench, "run_command", lambda cmd, **kwargs: (seen.append(cmd), Proc())[1])
    monkeypatch.setattr(bench, "LOGS", tmp_path / "logs")
    timing = bench.timed(bench.OFFLINE_SUITE, bench.SUITE_TARGET,
                         bench._command(bench.offline_suite_command(), log="offline-suite"))
    log = tmp_path / "logs" / "offline-suite.log"
    assert (timing.ok, timing.verdict) == (True, "FAILED, exit 1") and bench.failed([timing]) == [timing]
    assert timing.note == f"1 failed, 2300 passed in 80.00s; output: {log}"
    assert "tests/x.py::test_y FAILED" in log.read_text() and str(seen[0][0]) in log.read_text()


def test_the_offline_suite_leaves_the_runtime_suite_to_its_own_step() -> None:
    cmd = [str(c) for c in bench.offline_suite_command()]
    assert cmd[1:3] == ["-m", "pytest"] and cmd[cmd.index("-m", 3) + 1] == "not cluster and not network"
    assert cmd[cmd.index("--ignore") + 1] == str(REPO / "tests" / "runtime")


def test_a_cold_make_test_has_a_home_of_its_own_and_no_cache_of_the_machine(tmp_path: Path) -> None:
    base = {"HOME": "/root", "PATH": "/usr/bin", "GOPROXY": "https://proxy", "TODO_CLOUD_CHART_MIRROR": "/m"}
    env = bench.cold_environment(tmp_path / "home", base)
    home = str(tmp_path / "home")
    for variable in ("HOME", "XDG_CACHE_HOME", "GOPATH", "GOMODCACHE", "GOCACHE", "PIP_CACHE_DIR", "UV_CACHE_DIR"):
        assert env[variable].startswith(home), variable
    assert "TODO_CLOUD_CHART_MIRROR" not in env, "the chart mirror is found beside the clone, as in CI"
    assert (env["PATH"], env["GOPROXY"]) == ("/usr/bin", "https://proxy")


def test_the_fresh_clone_is_head_beside_the_shared_folder(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)  # as tempfile makes it
    clone = bench.fresh_clone(tmp_path / "warm")
    assert all(folder.stat().st_mode & 0o005 == 0o005 for folder in (tmp_path, tmp_path / "warm")), \
        "the chart's non-root UID cannot reach the clone"
    head = run(["git", "rev-parse", "HEAD"], cwd=REPO).stdout.strip()
    assert run(["git", "rev-parse", "HEAD"], cwd=clone).stdout.strip() == head
    assert not (clone / ".venv").exists()
    shared = REPO.parent / "shared"
    if shared.is_dir():
        assert (tmp_path / "warm" / "shared").resolve() == shared.resolve()
