"""Long-running processes on 127.0.0.1: the one supervisor for the simulated cluster and the runtime suite.

`todo_cloud.run` runs a command to its end; this module starts servers that keep running (etcd, Kafka,
PostgreSQL, daprd, Prometheus, ...) and guarantees the things a test harness needs from them:

- ports are chosen at start (`free_port`), never fixed, so parallel runs do not collide: below the kernel's
  ephemeral range (where outgoing connections take their source ports), free, and reserved machine-wide (a
  lock file held by the process that chose it, released by `Supervisor.close` or at its exit), so that no
  other test worker or run picks the same port before its server binds it;
- each process writes its output to `<workdir>/<name>.log`, and every failure message carries its tail;
- start-up is bounded: `wait_for` polls a readiness check until a deadline and fails at once, naming the
  process and its exit code, when the process exits instead;
- each process runs in its own session (process group), is killed with SIGKILL if the Python process that
  started it dies (Linux parent-death signal), and `stop`/`close` send SIGTERM to the whole group, then
  SIGKILL after a grace period; a `Supervisor` is a context manager and stops everything it started, in
  reverse order, on exit, on an exception or on KeyboardInterrupt;
- a `detached` supervisor's processes outlive the Python process that started them (`make sim-up`): their
  pids are kept by the caller, and `stop_groups` stops them later from another process.

Usage:
    with Supervisor(workdir) as sup:
        port = sup.free_port()
        sup.start("web", ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"])
        sup.wait_for("web", lambda: port_open(port), timeout=10, what="the web server to listen")
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"
_PR_SET_PDEATHSIG = 1


class StartFailed(RuntimeError):
    """A process exited during start-up or did not become ready in time; the message carries its log tail."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask the kernel to SIGKILL the child when the thread that started it goes away (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def pid_alive(pid: int) -> bool:
    """True when a process with `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `pid` (each supervised process leads its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_groups(pids: Sequence[int], grace: float = 10.0) -> None:
    """Stop process groups this process did not start (their leaders' pids, e.g. from a state file): SIGTERM
    to every group at once, SIGKILL to those still there after `grace` seconds."""
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        signal_group(pid, signal.SIGKILL)


def port_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether host:`port` can be bound now (a fixed port a process is about to take)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


# Where ports are reserved machine-wide: one lock file per port, locked (flock) by the process that chose it;
# one folder per user (another user's files in a shared sticky folder may not be opened for creation).
PORT_LOCKS = Path(tempfile.gettempdir()) / f"todo-cloud-ports-{os.getuid()}"
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# The lowest port free_port picks (below: well-known and registered services' ports).
LOWEST_PORT = 10000
# Ports this process reserved: port -> the descriptor holding its lock.
_reserved: dict[int, int] = {}


def port_candidates(ephemeral: Path = EPHEMERAL_RANGE) -> range:
    """Where free_port picks: between LOWEST_PORT and the kernel's ephemeral range (the source ports of outgoing
    connections: one of them could take a port between its choice and its server's bind), else above it."""
    try:
        low, high = (int(x) for x in ephemeral.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return range(LOWEST_PORT, low) if low - LOWEST_PORT >= 1000 else range(high + 1, 65536)


def _reserve(port: int) -> bool:
    """Lock `port` machine-wide for this process; False when another process holds it."""
    try:
        PORT_LOCKS.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(PORT_LOCKS / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise StartFailed(f"cannot reserve port {port} in {PORT_LOCKS}: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _reserved[port] = fd
    return True


def release_ports(ports: set[int]) -> None:
    """Give up this process's reservation of `ports` (their servers have stopped). The lock files stay: removing
    one another process has just opened would let two processes lock the same port."""
    for port in ports:
        fd = _reserved.pop(port, None)
        if fd is not None:
            os.close(fd)


def free_port(taken: set[int]) -> int:
    """A TCP port on 127.0.0.1, not in `taken` (it is added there), from `port_candidates`, that can be bound now
    (nothing listens on it, no connection uses it) and that no other process has reserved; reserved for this
    process until `release_ports` or its exit."""
    candidates = port_candidates()
    for _ in range(200):
        port = random.choice(candidates)
        if port in taken or port in _reserved or not _reserve(port):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))  # without SO_REUSEADDR: a port in TIME_WAIT is passed over too
            except OSError:
                release_ports({port})
                continue
        taken.add(port)
        return port
    raise StartFailed(f"no free port on 127.0.0.1 in {min(candidates)}-{max(candidates)} after 200 tries")


def poll(check: Callable[[], Any], *, timeout: float, interval: float) -> Any:
    """`check()`'s first truthy result, tried every `interval` s until `timeout` s have passed; None after."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            return None
        time.sleep(interval)


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status `url` answers with (error statuses included), or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def log_tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file, indented for error messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:]) or "    (empty log)"


@dataclass
class Supervisor:
    """Starts, watches and stops the processes of one harness; its folder holds their logs."""

    workdir: Path
    # Seconds between SIGTERM and SIGKILL when stopping a process group.
    grace: float = 10.0
    # Processes outlive the Python process that starts them (no parent-death signal); see `stop_groups`.
    detached: bool = False
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _ports: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)

    # -- ports --

    def free_port(self) -> int:
        """A TCP port on 127.0.0.1 that nothing listens on now and this supervisor has not handed out."""
        return free_port(self._ports)

    # -- processes --

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str, argv: Sequence[str | Path], *, env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start `argv` as `name` in its own process group, output appended to `<workdir>/<name>.log`."""
        if name in self.children and self.alive(name):
            raise StartFailed(f"{name} is already running (pid {self.children[name].pid})")
        with self.log(name).open("ab") as log:
            proc = subprocess.Popen(
                [str(a) for a in argv], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=cwd or self.workdir,
                env=dict(env) if env is not None else None, preexec_fn=None if self.detached else _die_with_parent)
        self.children[name] = proc
        return proc

    def alive(self, name: str) -> bool:
        proc = self.children.get(name)
        return proc is not None and proc.poll() is None

    def pid(self, name: str) -> int:
        return self.children[name].pid

    def tail(self, name: str, lines: int = 30) -> str:
        return log_tail(self.log(name), lines)

    def check_alive(self, name: str) -> None:
        """Raise StartFailed, with the exit code and the log tail, when `name` has exited."""
        proc = self.children.get(name)
        if proc is None:
            raise StartFailed(f"{name} was never started")
        code = proc.poll()
        if code is not None:
            raise StartFailed(f"{name} exited with code {code}; last lines of {self.log(name)}:\n{self.tail(name)}")

    def wait_for(self, name: str, ready: Callable[[], bool], *, timeout: float, what: str,
                 interval: float = 0.2) -> float:
        """Poll `ready` until true and return the seconds it took; StartFailed on an exit or at the deadline."""
        start = time.monotonic()
        deadline = start + timeout
        while True:
            self.check_alive(name)
            with contextlib.suppress(Exception):
                if ready():
                    return time.monotonic() - start
            if time.monotonic() > deadline:
                raise StartFailed(f"timed out after {timeout:.0f} s waiting for {what} ({name}); last lines of "
                                  f"{self.log(name)}:\n{self.tail(name)}")
            time.sleep(interval)

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """Stop `name`'s process group (`sig`, then SIGKILL after the grace period); returns its exit code."""
        proc = self.children.get(name)
        if proc is None:
            return None
        if proc.poll() is None:
            signal_group(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=self.grace)
        signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        return proc.returncode

    def stop_all(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop every running process at once (processes with no order to keep): `sig` to every group, then
        SIGKILL to those still there after one grace period."""
        running = [p for p in self.children.values() if p.poll() is None]
        for proc in running:
            signal_group(proc.pid, sig)
        deadline = time.monotonic() + self.grace
        for proc in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            signal_group(proc.pid, signal.SIGKILL)
        for proc in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)

    def close(self) -> None:
        """Stop every process this supervisor started, the last started first, and release the ports it handed
        out (a detached supervisor's processes keep running: their ports stay with this process until it exits,
        and are bound by then)."""
        for name in reversed(list(self.children)):
            self.stop(name)
        if not self.detached:
            release_ports(self._ports)
            self._ports.clear()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
