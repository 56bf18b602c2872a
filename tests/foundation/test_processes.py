"""The process supervisor: ports chosen at start, bounded readiness, logs in failures, groups torn down."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from todo_cloud import processes
from todo_cloud.processes import StartFailed, Supervisor, http_status, pid_alive, poll, port_open

# Another process holding a port's lock, as another test worker or run that chose it does, until told to go.
HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
sys.stdin.read()
"""


@contextmanager
def held_by_another_process(port: int) -> Iterator[None]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(processes.PORT_LOCKS / f"{port}.lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate(timeout=10)


def lockable_by_another_process(port: int) -> bool:
    probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
             "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)")
    return subprocess.run([sys.executable, "-c", probe, str(processes.PORT_LOCKS / f"{port}.lock")],
                          capture_output=True, timeout=10).returncode == 0


def test_a_started_server_answers_on_its_chosen_port_and_is_gone_after_close(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as sup:
        port = sup.free_port()
        sup.start("web", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
        sup.wait_for("web", lambda: port_open(port), timeout=20, what="the web server to listen")
        assert http_status(f"http://127.0.0.1:{port}/") == 200
        pid = sup.pid("web")
    assert not pid_alive(pid)
    assert not port_open(port)


def test_a_process_that_exits_during_start_up_fails_at_once_with_its_exit_code_and_log(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as sup:
        sup.start("broken", [sys.executable, "-c", "import sys; print('bad flag --x'); sys.exit(3)"])
        with pytest.raises(StartFailed, match=r"(?s)broken exited with code 3.*bad flag --x"):
            sup.wait_for("broken", lambda: False, timeout=30, what="never")


def test_readiness_is_bounded_and_the_timeout_names_what_was_awaited(tmp_path: Path) -> None:
    with Supervisor(tmp_path, grace=1) as sup:
        sup.start("sleeper", [sys.executable, "-c", "import time; print('started'); time.sleep(60)"])
        with pytest.raises(StartFailed, match=r"(?s)timed out after 1 s waiting for the impossible \(sleeper\)"):
            sup.wait_for("sleeper", lambda: False, timeout=1, what="the impossible")


def test_stop_kills_the_whole_process_group_including_grandchildren(tmp_path: Path) -> None:
    script = ("import subprocess, sys, time; "
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              "print(p.pid, flush=True); time.sleep(60)")
    with Supervisor(tmp_path, grace=2) as sup:
        sup.start("parent", [sys.executable, "-c", script])
        sup.wait_for("parent", lambda: sup.log("parent").read_text().strip() != "", timeout=20, what="the child pid")
        grandchild = int(sup.log("parent").read_text().split()[0])
        assert pid_alive(grandchild)
        sup.stop("parent")
        assert not sup.alive("parent")
    # The grandchild got the group's SIGTERM; give the kernel a moment to reap it.
    for _ in range(50):
        if not pid_alive(grandchild):
            break
        time.sleep(0.1)
    assert not pid_alive(grandchild)


def test_free_ports_are_never_handed_out_twice(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    ports = [sup.free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)


@pytest.mark.parametrize(("kernel_range", "expected"), [
    ("32768\t60999\n", range(10000, 32768)),
    ("1024 65000\n", range(65001, 65536)),
])
def test_ports_are_picked_outside_the_kernels_ephemeral_range(tmp_path: Path, kernel_range: str,
                                                              expected: range) -> None:
    """Outgoing connections take their source ports from the ephemeral range: one could take a chosen port
    before its server binds it (a Kafka broker failed to bind this way)."""
    ephemeral = tmp_path / "ip_local_port_range"
    ephemeral.write_text(kernel_range)
    assert processes.port_candidates(ephemeral) == expected
    port = Supervisor(tmp_path / "run").free_port()
    assert port in processes.port_candidates()


def test_a_port_another_process_reserved_or_something_uses_is_passed_over(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with Supervisor(tmp_path) as probe:
        reserved, listened, free = (probe.free_port() for _ in range(3))
    with held_by_another_process(reserved), socket.socket() as listener:
        listener.bind(("127.0.0.1", listened))
        listener.listen()
        monkeypatch.setattr(processes, "port_candidates", lambda: [reserved, listened, free])
        with Supervisor(tmp_path) as sup:
            assert sup.free_port() == free
            monkeypatch.setattr(processes, "port_candidates", lambda: [reserved, listened])
            with pytest.raises(StartFailed, match=r"no free port on 127\.0\.0\.1"):
                sup.free_port()


def test_a_supervisors_ports_stay_reserved_until_it_closes(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as sup:
        port = sup.free_port()
        assert not lockable_by_another_process(port), "another worker could pick the port before its server binds"
    assert lockable_by_another_process(port)


def test_poll_returns_the_first_truthy_result_or_none_at_the_deadline() -> None:
    answers = iter([0, [], "late", "later"])
    assert poll(lambda: next(answers), timeout=5, interval=0.01) == "late"
    started = time.monotonic()
    assert poll(lambda: None, timeout=0.2, interval=0.05) is None
    assert time.monotonic() - started >= 0.2


def test_stop_all_stops_every_process_at_once_within_one_grace_period(tmp_path: Path) -> None:
    # Each ignores SIGTERM, so each needs the SIGKILL after the grace: one by one they would take 3 graces.
    stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); "
                "time.sleep(60)")
    with Supervisor(tmp_path, grace=1) as sup:
        for name in ("a", "b", "c"):
            sup.start(name, [sys.executable, "-c", stubborn])
        for name in ("a", "b", "c"):
            sup.wait_for(name, lambda n=name: sup.log(n).read_text().strip() == "up", timeout=20, what="start")
        started = time.monotonic()
        sup.stop_all()
        took = time.monotonic() - started
        assert not any(sup.alive(name) for name in ("a", "b", "c"))
    assert took < 2.5, f"stop_all took {took:.1f} s for three processes with a grace of 1 s"
