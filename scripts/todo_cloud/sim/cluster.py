"""The simulated cluster: a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) with KWOK faking the nodes and the pod lifecycle, on loopback, in a temp folder.

The binaries come from `tools/sim/build.sh` (`todo-cloud sim build`, cached outside the repo); the flags are
the ones tools/sim/smoke_start.sh proved. `running(env)` is the context manager the tests use: it starts
everything under a process supervisor (todo_cloud.processes), shapes fake Nodes like the environment's node
pool, and always stops every process group and removes its folder.

What goes wrong is said precisely: `MissingBinaries` (which binary, how to build it), `PortInUse`
(which port), `StartFailed` (which component, the tail of its log).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import envs, tools
from todo_cloud.cluster_shape import node_pool
from todo_cloud.paths import REPO
from todo_cloud.processes import Supervisor, free_port, port_free
from todo_cloud.run import Completed, TimeoutExpired, run
from todo_cloud.sim.objects import bare_pod_complete_stage, fake_nodes, stand_in_crds, storage
from todo_cloud.sim.pki import CLUSTER_NAME, kubeconfig, make_pki

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
BUILD_HINT = "run `make sim-build` (tools/sim/build.sh)"
COMPONENTS = ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
SERVICE_CIDR = "10.96.0.0/16"


class SimError(RuntimeError):
    """The simulated cluster could not be started; the message says which part and why."""


class MissingBinaries(SimError):
    """The binaries are not built (or one is missing from the bin folder)."""


class PortInUse(SimError):
    """A port the cluster needs is taken."""


class StartFailed(SimError):
    """A component exited or did not become ready in time; the message carries the tail of its log."""


# --- binaries and ports ----------------------------------------------------------------------------------


def bin_dir() -> Path:
    """The folder of the built binaries: `$TODO_CLOUD_SIM_BIN`, else what tools/sim/build.sh prints."""
    configured = os.environ.get("TODO_CLOUD_SIM_BIN")
    if configured:
        folder = Path(configured)
    else:
        got = run(["bash", REPO / "tools" / "sim" / "build.sh", "--print-bin-dir"], check=False, timeout=60)
        if got.returncode != 0 or not got.stdout.strip():
            raise MissingBinaries(f"simulated cluster binaries not built: {BUILD_HINT}")
        folder = Path(got.stdout.strip())
    check_binaries(folder)
    return folder


def check_binaries(folder: Path) -> None:
    """Raise MissingBinaries naming every binary (and the kwok stages file) absent from `folder`."""
    absent = [b for b in BINARIES if not os.access(folder / b, os.X_OK)]
    if not (folder / "kwok-stages.yaml").is_file():
        absent.append("kwok-stages.yaml")
    if absent:
        raise MissingBinaries(f"simulated cluster binaries not built: {', '.join(absent)} missing in {folder}; "
                              f"{BUILD_HINT}")


def free_ports(fixed: Mapping[str, int] | None = None) -> dict[str, int]:
    """A loopback port per component: `fixed` ones are checked (PortInUse names a taken one), the rest
    are picked by the kernel (todo_cloud.processes.free_port), all distinct."""
    fixed = dict(fixed or {})
    unknown = set(fixed) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"ports: unknown components {sorted(unknown)}; known: {', '.join(COMPONENTS)}")
    for name, port in fixed.items():
        if not port_free(port):
            raise PortInUse(f"port {port} on 127.0.0.1 (for {name}) is already in use; free it or pick another")
    taken = set(fixed.values())
    return {name: fixed[name] if name in fixed else free_port(taken) for name in COMPONENTS}


# --- the cluster ---------------------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A started (or starting) simulated cluster: its folder, ports, processes and admin kubeconfig."""

    env: str
    workdir: Path
    binaries: Path
    ports: dict[str, int]
    context: str
    # The processes outlive this Python process (`todo-cloud sim up`); `down` stops them by their pids.
    detached: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    supervisor: Supervisor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(self.workdir, detached=self.detached)

    @property
    def pids(self) -> dict[str, int]:
        """Process id (and process group) of every component started, by name."""
        return {name: proc.pid for name, proc in self.supervisor.children.items()}

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['kube-apiserver']}"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    def log(self, component: str) -> Path:
        return self.supervisor.log(component)

    def log_tail(self, component: str, lines: int = 25) -> str:
        return self.supervisor.tail(component, lines)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True,
                timeout: float = 120) -> Completed[str]:
        """The pinned kubectl against this cluster (admin)."""
        return run([tools.path("kubectl"), "--kubeconfig", self.kubeconfig, *args], input=input, check=check,
                   timeout=timeout)

    def apply(self, objects: Sequence[Mapping[str, Any]]) -> None:
        """Server-side apply of `objects` (nothing to do for none)."""
        if not objects:
            return
        self.kubectl("apply", "--server-side", "--field-manager=todo-sim", "-f", "-",
                     input=yaml.safe_dump_all(list(objects)))

    # -- processes --

    def _start(self, component: str, args: Sequence[str | Path]) -> None:
        self.supervisor.start(component, [self.binaries / component, *args])

    def alive(self, component: str) -> bool:
        return self.supervisor.alive(component)

    def check_alive(self) -> None:
        """Raise StartFailed (PortInUse when the log says so) for the first component that exited."""
        for component in self.pids:
            if self.alive(component):
                continue
            tail = self.log_tail(component)
            if "address already in use" in tail:
                raise PortInUse(f"{component} could not bind its port (address already in use):\n{tail}")
            raise StartFailed(f"{component} exited during start-up; last lines of its log "
                              f"({self.log(component)}):\n{tail}")

    def wait_for(self, what: str, ready: Callable[[], bool], timeout: float, component: str) -> None:
        """Poll `ready` until true; StartFailed (with `component`'s log tail) on timeout or an early exit."""
        deadline = time.monotonic() + timeout
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise StartFailed(f"timed out after {timeout:.0f} s waiting for {what}; last lines of the "
                                  f"{component} log ({self.log(component)}):\n{self.log_tail(component)}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop every process group, the last started first (etcd last), TERM then KILL; reap children."""
        self.supervisor.close()

    # -- start-up --

    def start(self, extra_apiserver_args: Sequence[str] = (), timeout: float = 90) -> None:
        """Start everything in order, waiting for each readiness; on any error the caller must stop()."""
        t0 = time.monotonic()
        pki = self.workdir / "pki"
        make_pki(pki)
        kubeconfig(self.kubeconfig, self.server, pki, "admin", self.context)
        for user in ("kcm", "scheduler", "kwok"):
            kubeconfig(self.workdir / f"{user}.kubeconfig", self.server, pki, user, CLUSTER_NAME)
        stages = self.workdir / "extra-stages.yaml"
        stages.write_text(yaml.safe_dump(bare_pod_complete_stage()))
        p = self.ports
        self._start("etcd", [
            "--name=sim", f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{p['etcd']}", f"--advertise-client-urls=http://127.0.0.1:{p['etcd']}",
            f"--listen-peer-urls=http://127.0.0.1:{p['etcd-peer']}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{p['etcd-peer']}",
            f"--initial-cluster=sim=http://127.0.0.1:{p['etcd-peer']}",
            "--unsafe-no-fsync", f"--quota-backend-bytes={2 * 1024**3}", "--log-level=warn"])
        self._start("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{p['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={p['kube-apiserver']}",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}", f"--requestheader-client-ca-file={pki / 'ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client", "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={pki / 'front-proxy-client.key'}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,"
            "DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota,"
            "NodeRestriction,PodSecurity",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true", "--profiling=false",
            *extra_apiserver_args])
        self.wait_for("the kube-apiserver to answer /readyz", self._readyz, timeout, "kube-apiserver")
        self.timings["api_ready"] = time.monotonic() - t0
        self._start("kube-controller-manager", [
            f"--kubeconfig={self.workdir / 'kcm.kubeconfig'}",
            f"--authentication-kubeconfig={self.workdir / 'kcm.kubeconfig'}",
            f"--authorization-kubeconfig={self.workdir / 'kcm.kubeconfig'}",
            "--bind-address=127.0.0.1", f"--secure-port={p['kube-controller-manager']}", "--leader-elect=false",
            "--use-service-account-credentials=true", f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}", f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={pki / 'ca.key'}", f"--cluster-name={CLUSTER_NAME}", "--profiling=false"])
        self._start("kube-scheduler", [
            f"--kubeconfig={self.workdir / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={self.workdir / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={self.workdir / 'scheduler.kubeconfig'}",
            "--bind-address=127.0.0.1", f"--secure-port={p['kube-scheduler']}", "--leader-elect=false",
            "--profiling=false"])
        self._start("kwok", [
            f"--kubeconfig={self.workdir / 'kwok.kubeconfig'}", f"--config={self.binaries / 'kwok-stages.yaml'}",
            f"--config={stages}", "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{p['kwok']}", "--node-ip=127.0.0.1", f"--node-port={p['kwok']}",
            "--node-lease-duration-seconds=40"])
        pool = node_pool(self.env)
        self.apply([*fake_nodes(pool), *storage(self.env), *self._external_crds()])
        env = envs.get(self.env)
        self.apply(envs.namespace_objects(env))
        self.wait_for(f"{pool.count} fake nodes Ready", lambda: self._nodes_ready(pool.count), timeout, "kwok")
        self.wait_for(f"serviceaccount {env.namespace}/default", lambda: self._has_default_sa(env.namespace),
                      timeout, "kube-controller-manager")
        self.timings["ready"] = time.monotonic() - t0

    def _external_crds(self) -> list[dict[str, Any]]:
        """The pinned Gateway API and cert-manager CRDs (todo_cloud.gates.external_crds); permissive stand-ins
        where those cannot be had (noted in `notes`)."""
        from todo_cloud.gates import external_crds

        try:
            return external_crds.crd_documents()
        except external_crds.Unavailable as exc:
            self.notes.append(f"stand-in CRDs without schema for Gateway API and cert-manager: {exc}")
            return stand_in_crds()

    def _probe(self, *args: str) -> Completed[str] | None:
        """One kubectl call of a readiness poll; None when it fails or gets no answer within 10 s (a busy
        API server: the poll's own deadline decides)."""
        try:
            got = self.kubectl(*args, check=False, timeout=10)
        except TimeoutExpired:
            return None
        return got if got.returncode == 0 else None

    def _readyz(self) -> bool:
        return self._probe("get", "--raw=/readyz") is not None

    def _nodes_ready(self, count: int) -> bool:
        got = self._probe("get", "nodes", "-o", "json")
        if got is None:
            return False
        ready = [n for n in json.loads(got.stdout)["items"]
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))]
        return len(ready) >= count

    def _has_default_sa(self, namespace: str) -> bool:
        return self._probe("-n", namespace, "get", "serviceaccount", "default") is not None


@contextmanager
def running(env: str, *, binaries: Path | None = None, ports: Mapping[str, int] | None = None,
            extra_apiserver_args: Sequence[str] = (), timeout: float = 90) -> Iterator[Cluster]:
    """A started cluster for `env`; every process group is stopped and the folder removed on exit, whatever
    happened (start-up failure included)."""
    envs.get(env)
    folder = binaries or bin_dir()
    check_binaries(folder)
    picked = free_ports(ports)
    workdir = Path(tempfile.mkdtemp(prefix=f"todo-sim-{env}-"))
    cluster = Cluster(env, workdir, folder, picked, envs.get(env).kube_context)
    try:
        cluster.start(extra_apiserver_args, timeout)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
