"""What the test suite needs that this machine builds or fetches itself, cached outside the repository.

`make test` (through `todo-cloud prereqs`) builds every missing prerequisite before pytest starts and fails,
naming it and why, when one cannot be had; the tests ask for them through the `prerequisite` fixture
(tests/conftest.py), which fails the same way. A prerequisite is never a reason to skip: skips are for what
this machine kind cannot have (Docker, kind, a container registry, DigitalOcean).

Not here, because other steps of `make test` own them: the venv, helm, kubectl and checkov (`make bootstrap`;
checkov is listed so that its tests fail rather than skip), the umbrella's upstream charts (`make deps`).

Build order (`build()`): the Go builds run one after another, so two long builds never share the two cores
and the suite starts after the last of them rather than building daprd, Prometheus and Jaeger inside test
fixtures side by side; shortest first, so that a broken toolchain or proxy shows within seconds, with
Prometheus before promtool (the same module: promtool then links from the shared build cache in seconds
instead of compiling the service-discovery SDKs again), and the two longest, the simulated cluster and
OpenTofu, last. The downloads (external CRDs from the Go module proxy, the Kafka jars from Maven Central)
are network-bound and run beside the builds, in a second lane.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from todo_cloud import gobuild
from todo_cloud.paths import REPO
from todo_cloud.run import CommandError, TimeoutExpired, run

# The simulated cluster's build compiles Kubernetes, etcd and kwok: tens of minutes on two busy cores.
SIM_BUILD_TIMEOUT = 4 * 3600
BUILD = "build"
DOWNLOAD = "download"


class Missing(RuntimeError):
    """A prerequisite that is not in place (or could not be built); the message names it and what to run."""


@dataclass(frozen=True)
class Prerequisite:
    """One thing the suite needs: `find` returns where it is or raises Missing; `make` builds or fetches it
    (idempotent, cached) and returns the same, or raises Missing with the reason."""

    name: str
    what: str
    lane: str
    find: Callable[[], Path]
    make: Callable[[], Path]


# --- the kinds of prerequisite ---------------------------------------------------------------------------


def _go_find(name: str) -> Path:
    try:
        return gobuild.built(name)
    except gobuild.BuildError as exc:
        raise Missing(f"{name}: {exc} (or `make prereqs`)") from exc


def _go_make(name: str) -> Path:
    try:
        return gobuild.build(name)
    except gobuild.BuildError as exc:
        raise Missing(f"{name} could not be built: {exc}") from exc


def _go(name: str, what: str) -> Prerequisite:
    pin = gobuild.pin(name)
    return Prerequisite(name, f"{what} ({pin.module}@{pin.version})", BUILD,
                        partial(_go_find, name), partial(_go_make, name))


def _sim_find() -> Path:
    from todo_cloud.sim import cluster

    try:
        return cluster.bin_dir()
    except cluster.MissingBinaries as exc:
        raise Missing(f"sim: {exc} (or `make prereqs`)") from exc


def _sim_make() -> Path:
    try:
        run(["bash", REPO / "tools" / "sim" / "build.sh"], timeout=SIM_BUILD_TIMEOUT, stream=sys.stderr)
    except (CommandError, TimeoutExpired) as exc:
        raise Missing(f"sim: tools/sim/build.sh failed: {str(exc).splitlines()[0]}") from exc
    return _sim_find()


def _kafka_jars_find() -> Path:
    from todo_cloud.runtime import kafka_jars

    lock = kafka_jars.read_lock()
    folder = kafka_jars.cache_dir(lock.kafka_version)
    absent = [j.filename for j in lock.jars if not (folder / j.filename).is_file()]
    if absent:
        raise Missing(f"kafka-jars: {len(absent)} of the {len(lock.jars)} jars of {lock.path.name} are not in "
                      f"{folder} (first: {absent[0]}): run `todo-cloud kafka-jars fetch` (or `make prereqs`)")
    return folder


def _kafka_jars_make() -> Path:
    from todo_cloud.runtime import kafka_jars

    try:
        return kafka_jars.ensure()[0].parent
    except kafka_jars.JarError as exc:
        raise Missing(f"kafka-jars: {exc}") from exc


def _crds(name: str) -> Path:
    from todo_cloud.gates import external_crds

    pin = next(p for p in external_crds.pins() if p.name == name)
    try:
        return external_crds.module_dir(pin)
    except external_crds.Unavailable as exc:
        raise Missing(f"crds-{name}: {exc}") from exc


def _checkov() -> Path:
    from todo_cloud.gates import checkov
    from todo_cloud.tools import ToolError

    try:
        return checkov.checkov_binary()
    except ToolError as exc:
        raise Missing(f"checkov: {exc}") from exc


def _postgres_find() -> Path:
    from todo_cloud.runtime import postgres

    try:
        return postgres.find_server()
    except postgres.PostgresMissing as exc:
        raise Missing(f"postgresql: {exc} (or `make prereqs`, as root)") from exc


def _postgres_make() -> Path:
    """Debian's server package for this release, installed with apt-get when this process is root (as CI runs);
    otherwise Missing, naming the command to run."""
    from todo_cloud.runtime import postgres

    package = postgres.debian_package()
    if os.geteuid() != 0:
        raise Missing(f"postgresql: the server is not installed and this is not root: run "
                      f"`sudo apt-get install --no-install-recommends {package}`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(["apt-get", "install", "-y", "--no-install-recommends", package], timeout=900, env=env)
    except (CommandError, TimeoutExpired):
        try:  # a machine whose package lists are stale or empty
            run(["apt-get", "update"], timeout=600, env=env)
            run(["apt-get", "install", "-y", "--no-install-recommends", package], timeout=900, env=env)
        except (CommandError, TimeoutExpired) as exc:
            raise Missing(f"postgresql: apt-get install {package} failed: {str(exc).splitlines()[0]}") from exc
    return _postgres_find()


def _crd_pins() -> list[str]:
    from todo_cloud.gates import external_crds

    return [p.name for p in external_crds.pins()]


def all_prerequisites() -> list[Prerequisite]:
    """Every prerequisite, in build order (see the module's docstring)."""
    return [
        Prerequisite("checkov", "checkov in its own venv (make bootstrap)", BUILD, _checkov, _checkov),
        _go("actionlint", "lints .github/workflows"),
        _go("registry", "the local OCI registry of tests/delivery"),
        _go("prometheus", "Prometheus of the runtime suite"),
        _go("promtool", "promtool check/test rules"),
        _go("jaeger", "Jaeger v2 of the runtime suite"),
        _go("daprd", "the Dapr sidecar of the runtime suite"),
        _go("rclone", "the dump job's upload step and the S3 server of the PostgreSQL dump drill"),
        _go("versitygw", "the S3 server of the Velero restore drill"),
        _go("velero-plugin-for-aws", "Velero's object-store plugin of the restore drill"),
        _go("velero", "the Velero server and client of the restore drill (the chart's appVersion)"),
        Prerequisite("sim", "the simulated cluster's binaries (tools/sim/build.sh)", BUILD, _sim_find, _sim_make),
        _go("tofu", "OpenTofu of tests/terraform"),
        *(Prerequisite(f"crds-{n}", f"the {n} CRDs of [external_crds.{n}] (Go module proxy)", DOWNLOAD,
                       partial(_crds, n), partial(_crds, n)) for n in _crd_pins()),
        Prerequisite("postgresql", "Debian's PostgreSQL server of the runtime suite and the dump drill", DOWNLOAD,
                     _postgres_find, _postgres_make),
        Prerequisite("kafka-jars", "the Kafka broker's jars of tools/kafka/jars.lock (Maven)", DOWNLOAD,
                     _kafka_jars_find, _kafka_jars_make),
    ]


def get(name: str) -> Prerequisite:
    """One prerequisite by name; KeyError naming the known ones."""
    known = {p.name: p for p in all_prerequisites()}
    if name not in known:
        raise KeyError(f"no prerequisite {name!r}; known: {', '.join(known)}")
    return known[name]


def find(name: str) -> Path:
    """Where the prerequisite is; Missing naming it and how to build it when it is not in place."""
    return get(name).find()


# --- building ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What `build` did for one prerequisite: `ready` (found), `made` (built or fetched now) or `failed`."""

    name: str
    status: str
    seconds: float
    detail: str


def _one(prerequisite: Prerequisite, report: Callable[[str], None]) -> Outcome:
    start = time.monotonic()
    try:
        return Outcome(prerequisite.name, "ready", time.monotonic() - start, str(prerequisite.find()))
    except Missing:
        pass
    report(f"prereqs: {prerequisite.name}: building {prerequisite.what} ...")
    try:
        where = prerequisite.make()
    except Missing as exc:
        return Outcome(prerequisite.name, "failed", time.monotonic() - start, str(exc))
    return Outcome(prerequisite.name, "made", time.monotonic() - start, str(where))


def _lane(items: Iterable[Prerequisite], report: Callable[[str], None]) -> list[Outcome]:
    return [_one(p, report) for p in items]


def build(names: Iterable[str] | None = None, report: Callable[[str], None] = print) -> list[Outcome]:
    """Build or fetch the named prerequisites (default: all) that are missing: the build lane one at a time,
    the download lane beside it. Every one is attempted; the outcomes come back in build order."""
    wanted = [get(n) for n in names] if names else all_prerequisites()
    with ThreadPoolExecutor(max_workers=2) as pool:
        lanes: list[Future[list[Outcome]]] = [
            pool.submit(_lane, [p for p in wanted if p.lane == lane], report) for lane in (BUILD, DOWNLOAD)]
        done = {o.name: o for lane in lanes for o in lane.result()}
    return [done[p.name] for p in wanted]
