"""The Apache Kafka broker's jars: pinned in a committed lock, fetched with Maven, checked on every use.

Their version is the platform's (charts/platform values `kafka.version`). versions.toml [kafka] names the
root artifacts and the lock (tools/kafka/jars.lock), which lists every jar of the broker's runtime classpath
as `group:artifact:version sha256:<hex>`.

- `lock` resolves the roots' runtime closure with `mvn` (maven-dependency-plugin `list`) and rewrites the lock;
- `ensure` returns the broker's classpath from ~/.cache/todo-chatbot-cloud/kafka/<version>/: jars missing
  there are fetched with `mvn` (its own repository and mirror settings: ~/.m2/settings.xml, the global
  settings.xml), every jar is checked against its sha256, and any failure raises JarError naming the jar.

Usage:
    todo-cloud kafka-jars lock     # after a change of kafka.version or of the roots
    todo-cloud kafka-jars fetch    # fetch and check; prints the cache folder
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from todo_cloud import versions, yamlfile
from todo_cloud.paths import CHARTS, REPO, user_cache
from todo_cloud.run import CommandError, run
from todo_cloud.tools import sha256_file

# The artifact whose version is Kafka's version (the broker itself).
BROKER_ARTIFACT = "org.apache.kafka:kafka_2.13"
LOCK_COMMAND = "todo-cloud kafka-jars lock"
_MVN_TIMEOUT = 900
# A line of `mvn dependency:list -DoutputAbsoluteArtifactFilename=true`:
#   group:artifact:jar:version:scope:/abs/path.jar[ -- module name]
_LISTED = re.compile(r"^\s*([^:\s]+):([^:\s]+):jar:([^:\s]+):(compile|runtime):(/\S+\.jar)")


class JarError(RuntimeError):
    """A Kafka jar is missing, cannot be fetched or has the wrong sha256; the message names it."""


@dataclass(frozen=True)
class Jar:
    """One locked jar."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def filename(self) -> str:
        """File name in the cache (Maven's `copy-dependencies` name with the group prepended)."""
        return f"{self.group}.{self.artifact}-{self.version}.jar"


@dataclass(frozen=True)
class Lock:
    """The committed lock: Kafka's version (of the broker artifact) and every jar."""

    path: Path
    jars: tuple[Jar, ...]

    @property
    def kafka_version(self) -> str:
        broker = [j for j in self.jars if f"{j.group}:{j.artifact}" == BROKER_ARTIFACT]
        if len(broker) != 1:
            raise JarError(f"{self.path}: expected one {BROKER_ARTIFACT} jar, found {len(broker)}; run {LOCK_COMMAND}")
        return broker[0].version


def settings() -> dict[str, Any]:
    """versions.toml [kafka]."""
    try:
        return versions.load()["kafka"]
    except KeyError as exc:
        raise JarError("versions.toml has no [kafka] table") from exc


def platform_version() -> str:
    """The Kafka version the platform runs: charts/platform values `kafka.version`."""
    values = yamlfile.load(CHARTS / "platform" / "values.yaml")
    return str(values["kafka"]["version"])


def lock_path() -> Path:
    return REPO / settings()["lock"]


def roots(version: str) -> list[str]:
    """The root artifacts (group:artifact:version) at Kafka `version`."""
    return [a.format(version=version) for a in settings()["artifacts"]]


def read_lock(path: Path | None = None) -> Lock:
    """Parse the lock; a malformed line is an error naming its line number."""
    path = path or lock_path()
    if not path.is_file():
        raise JarError(f"{path} is missing; run {LOCK_COMMAND}")
    jars: list[Jar] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r"([^:\s]+):([^:\s]+):([^:\s]+) sha256:([0-9a-f]{64})", line.strip())
        if not m:
            raise JarError(f"{path}:{n}: expected `group:artifact:version sha256:<64 hex>`, got {line!r}")
        jars.append(Jar(*m.groups()))
    return Lock(path, tuple(jars))


def cache_dir(version: str) -> Path:
    return user_cache() / "kafka" / version


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarError("mvn is not on PATH: Maven is the client that fetches the Kafka broker's jars from Maven "
                       "Central (Debian: apt-get install maven)")
    return mvn


def _pom(dependencies: Sequence[str], exclude_transitive: bool) -> str:
    """A throwaway POM depending on `dependencies` (group:artifact:version)."""
    deps = []
    for coordinate in dependencies:
        group, artifact, version = coordinate.split(":")
        exclusions = ("<exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>"
                      "</exclusions>") if exclude_transitive else ""
        deps.append(f"<dependency><groupId>{escape(group)}</groupId><artifactId>{escape(artifact)}</artifactId>"
                    f"<version>{escape(version)}</version>{exclusions}</dependency>")
    return ('<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
            "<groupId>local.todo-chatbot-cloud</groupId><artifactId>kafka-broker-runtime</artifactId>"
            "<version>0</version><packaging>pom</packaging>"
            f"<dependencies>{''.join(deps)}</dependencies></project>\n")


def _run_mvn(workdir: Path, pom: str, goal: str, *props: str) -> None:
    (workdir / "pom.xml").write_text(pom)
    plugin = f"org.apache.maven.plugins:maven-dependency-plugin:{settings()['maven_dependency_plugin']}"
    try:
        run([_mvn(), "-B", "--no-transfer-progress", "-f", workdir / "pom.xml", f"{plugin}:{goal}", *props],
            cwd=workdir, timeout=_MVN_TIMEOUT)
    except CommandError as exc:
        # Maven prints its errors on stdout; keep the [ERROR] lines, which name the artifact it could not get.
        errors = [ln for ln in (exc.stdout + exc.stderr).splitlines() if "ERROR" in ln][:15]
        raise JarError(f"mvn {goal} failed (exit {exc.returncode}):\n" + "\n".join(errors)) from None


def resolve(version: str) -> list[tuple[Jar, Path]]:
    """The runtime closure of the roots at `version`, as Maven resolves it, each jar with its sha256."""
    with tempfile.TemporaryDirectory(prefix="todo-kafka-lock-") as tmp:
        work = Path(tmp)
        _run_mvn(work, _pom(roots(version), exclude_transitive=False), "list", "-DincludeScope=runtime",
                 "-DoutputAbsoluteArtifactFilename=true", f"-DoutputFile={work / 'deps.txt'}")
        listed = [m.groups() for m in map(_LISTED.match, (work / "deps.txt").read_text().splitlines()) if m]
    if not listed:
        raise JarError(f"mvn listed no jar for {', '.join(roots(version))}")
    return sorted(((Jar(g, a, v, sha256_file(Path(p))), Path(p)) for g, a, v, _scope, p in listed),
                  key=lambda jp: jp[0].coordinate)


def write_lock(version: str, path: Path | None = None) -> Lock:
    """Resolve the closure at `version` and write the lock."""
    path = path or lock_path()
    jars = [jar for jar, _ in resolve(version)]
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [f"# generated by `{LOCK_COMMAND}`, do not edit",
              f"# The runtime classpath of the Apache Kafka {version} broker (charts/platform kafka.version), as "
              "Maven resolves",
              f"# {', '.join(roots(version))}; fetched from Maven Central and checked by sha256 on every use."]
    path.write_text("\n".join(header + [f"{j.coordinate} sha256:{j.sha256}" for j in jars]) + "\n")
    return read_lock(path)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One fetcher per cache folder at a time (pytest-xdist workers share it)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _check(jar: Jar, path: Path) -> None:
    if not path.is_file():
        raise JarError(f"{jar.coordinate}: {path} is missing")
    actual = sha256_file(path)
    if actual != jar.sha256:
        raise JarError(f"{jar.coordinate}: {path} has sha256 {actual}, the lock ({lock_path().name}) pins "
                       f"{jar.sha256}; refusing it (delete the file to fetch it again, or run {LOCK_COMMAND} "
                       "if the pin is what changed)")


def fetch(jars: Sequence[Jar], folder: Path) -> None:
    """Copy `jars` (exactly those, no transitive ones) with Maven into `folder`, each checked before it lands."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=folder) as tmp:
        staging = Path(tmp)
        _run_mvn(staging, _pom([j.coordinate for j in jars], exclude_transitive=True), "copy-dependencies",
                 "-DincludeScope=runtime", "-Dmdep.prependGroupId=true", f"-DoutputDirectory={staging / 'jars'}")
        for jar in jars:
            _check(jar, staging / "jars" / jar.filename)
        for jar in jars:
            os.replace(staging / "jars" / jar.filename, folder / jar.filename)


def ensure(version: str | None = None) -> list[Path]:
    """The broker's classpath at `version` (default: the platform's), fetched where missing, every jar checked."""
    lock = read_lock()
    version = version or platform_version()
    if lock.kafka_version != version:
        raise JarError(f"{lock.path.relative_to(REPO)} pins Kafka {lock.kafka_version}, but Kafka {version} is "
                       f"asked for; run {LOCK_COMMAND}")
    folder = cache_dir(version)
    with _locked(folder):
        missing = [j for j in lock.jars if not (folder / j.filename).is_file()]
        if missing:
            fetch(missing, folder)
        for jar in lock.jars:
            _check(jar, folder / jar.filename)
    return [folder / j.filename for j in lock.jars]
