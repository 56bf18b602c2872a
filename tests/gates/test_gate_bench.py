"""`make bench`: the table of wall times against the targets (the measuring itself is `make bench`)."""

from __future__ import annotations

from todo_cloud.commands import bench


def test_the_table_shows_each_step_against_its_target() -> None:
    text = bench.table([bench.Timing("render production (cold)", 1.2, bench.RENDER_TARGET, "300 objects"),
                        bench.Timing("gates together", 75.0, bench.GATES_TARGET)])
    render_line, gates_line = text.splitlines()[2:]
    assert render_line.split()[:6] == ["render", "production", "(cold)", "1.2", "<", "2"]
    assert render_line.split()[6] == "ok"
    assert "SLOW" in gates_line and "< 60" in gates_line


def test_the_targets_are_those_of_the_platform() -> None:
    assert (bench.BOOTSTRAP_TARGET, bench.RENDER_TARGET, bench.GATES_TARGET, bench.SUITE_TARGET) == (5, 2, 60, 90)


def test_a_step_that_breaks_is_reported_not_raised() -> None:
    def broken() -> str:
        raise RuntimeError("helm template failed\nmore")
    timing = bench.timed("render local (cold)", bench.RENDER_TARGET, broken)
    assert timing.note == "error: helm template failed"
