"""The simulated cluster's launcher says precisely what went wrong and never leaves a process or folder behind:
missing binaries, a port in use, an API server that does not come up."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest

from todo_cloud.sim import cluster as sim


@pytest.fixture
def workdirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders the launcher creates during the test, recorded as it creates them."""
    made: list[Path] = []
    real = tempfile.mkdtemp

    def record(*args: object, **kwargs: object) -> str:
        path = real(*args, **kwargs)  # type: ignore[call-overload]
        made.append(Path(path))
        return path

    monkeypatch.setattr(sim.tempfile, "mkdtemp", record)
    return made


def _left_behind(workdirs: list[Path]) -> list[str]:
    """Folders still there and processes still running that belong to the recorded folders."""
    return [str(w) for w in workdirs if w.exists()] + _processes_using({w.name for w in workdirs})


def _processes_using(folder_names: set[str]) -> list[str]:
    """Command lines of live processes naming one of the folders (the launcher passes them as flags)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(name in cmdline for name in folder_names):
            found.append(f"{proc.name}: {cmdline[:160]}")
    return found


def test_missing_binaries_are_named_with_the_command_that_builds_them(tmp_path: Path) -> None:
    (tmp_path / "etcd").write_text("#!/bin/sh\n")
    (tmp_path / "etcd").chmod(0o755)
    with pytest.raises(sim.MissingBinaries) as err, sim.running("local", binaries=tmp_path):
        pass
    message = str(err.value)
    assert "kube-apiserver, kube-controller-manager, kube-scheduler, kwok, kwok-stages.yaml missing" in message
    assert "run `make sim-build` (tools/sim/build.sh)" in message


def test_an_unbuilt_cache_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TODO_CLOUD_SIM_BIN", str(tmp_path / "nothing-here"))
    with pytest.raises(sim.MissingBinaries, match=r"simulated cluster binaries not built: .*make sim-build"):
        sim.bin_dir()


def test_a_port_in_use_is_named(sim_binaries: Path, workdirs: list[Path]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        expected = rf"port {port} on 127.0.0.1 \(for kube-apiserver\) is already in use"
        with pytest.raises(sim.PortInUse, match=expected), \
                sim.running("local", binaries=sim_binaries, ports={"kube-apiserver": port}):
            pass
    assert not _left_behind(workdirs)


def test_an_api_server_that_does_not_start_is_reported_with_its_log_and_cleaned_up(
        sim_binaries: Path, workdirs: list[Path]) -> None:
    with pytest.raises(sim.StartFailed) as err, \
            sim.running("local", binaries=sim_binaries, extra_apiserver_args=["--no-such-flag=1"], timeout=30):
        pass
    message = str(err.value)
    assert "kube-apiserver exited during start-up" in message
    assert "unknown flag: --no-such-flag" in message
    assert workdirs and not _left_behind(workdirs)


def test_an_api_server_that_never_gets_ready_times_out_and_leaves_no_process(
        sim_binaries: Path, workdirs: list[Path]) -> None:
    with pytest.raises(sim.StartFailed) as err, sim.running("local", binaries=sim_binaries, timeout=0.5):
        pass
    assert "waiting for the kube-apiserver to answer /readyz; last lines of the kube-apiserver log" in str(err.value)
    assert workdirs and not _left_behind(workdirs)
