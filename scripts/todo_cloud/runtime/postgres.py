"""A throwaway PostgreSQL cluster on 127.0.0.1: Debian's server binaries, a temporary folder, a free port.

The backend's database and the Dapr state store of the runtime suite (and the workload tests) run on it:

    with Supervisor(workdir) as sup, postgres.running(sup, databases=["todo"]) as pg:
        url = pg.databases["todo"].url     # postgresql://todo:<password>@127.0.0.1:<port>/todo

- `initdb` makes a cluster in a folder of its own under the system's temporary folder (password
  authentication, SCRAM-SHA-256, for every connection; no Unix socket: TCP on 127.0.0.1 only), `postgres`
  serves it on a port chosen at start through `todo_cloud.processes.Supervisor` (bounded start, log tail in
  failures, torn down with its process group), and each requested database gets its own owner role with a
  random password. Durability is off (fsync, full page writes): the data dies with the run anyway.
- PostgreSQL refuses to run as root. Run as root (CI is), initdb and the server run as the `postgres`
  account that Debian's package creates (or `nobody`) through `setpriv`, keeping the parent-death signal.
- What to run is a pure function of the binaries, the folder and the port (`initdb_argv`, `server_argv`);
  `running` is the thin runner around them.
- The server binaries are found under /usr/lib/postgresql/<major>/bin (the highest major that has both), or
  in the folder named by TODO_CLOUD_POSTGRES_BIN. When they are missing, `PostgresMissing` says which Debian
  package provides them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from todo_cloud.processes import LOOPBACK, Supervisor
from todo_cloud.run import run

# Where Debian's postgresql-<major> packages put the server binaries, one folder per major version.
DEBIAN_ROOT = Path("/usr/lib/postgresql")
# A folder holding initdb and postgres, used instead of the search under DEBIAN_ROOT when set.
BIN_ENV = "TODO_CLOUD_POSTGRES_BIN"
SERVER_BINARIES = ("initdb", "postgres")
# The server package of each Debian release (its default major version); `postgresql` is the metapackage.
DEBIAN_SERVER_PACKAGES = {"bookworm": "postgresql-15", "trixie": "postgresql-17", "forky": "postgresql-18"}
# Accounts the server runs as when started by root, the first that exists.
SERVICE_ACCOUNTS = ("postgres", "nobody")
SUPERUSER = "postgres"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Server settings of a throwaway cluster: TCP on loopback only, no durability, logs to stderr (the log file).
SERVER_SETTINGS = {
    "listen_addresses": LOOPBACK,
    "unix_socket_directories": "",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
    "logging_collector": "off",
    "log_destination": "stderr",
    "log_min_messages": "warning",
}


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed; the message names the Debian package to install."""


class PostgresError(RuntimeError):
    """Bad input to the cluster helper (a database or role name), naming the field."""


# -- finding the binaries --


def debian_package(os_release: Path = Path("/etc/os-release")) -> str:
    """The Debian package that provides the server binaries on this release (the metapackage if unknown)."""
    codename = ""
    with contextlib.suppress(OSError):
        for line in os_release.read_text().splitlines():
            key, _, value = line.partition("=")
            if key == "VERSION_CODENAME":
                codename = value.strip().strip('"')
    return DEBIAN_SERVER_PACKAGES.get(codename, "postgresql")


def find_server(root: Path = DEBIAN_ROOT, override: str | None = None) -> Path:
    """The folder with initdb and postgres; PostgresMissing, naming the Debian package, when there is none."""
    override = os.environ.get(BIN_ENV) if override is None else override
    if override:
        folder = Path(override)
        missing = [b for b in SERVER_BINARIES if not (folder / b).is_file()]
        if missing:
            raise PostgresMissing(f"{BIN_ENV}={folder}: no {' and no '.join(missing)} in that folder")
        return folder

    def major(folder: Path) -> tuple[int, str]:
        name = folder.parent.name
        return (int(name), name) if name.isdigit() else (-1, name)

    candidates = sorted((p.parent for p in root.glob("*/bin/initdb") if (p.parent / "postgres").is_file()),
                        key=major, reverse=True)
    if not candidates:
        package = debian_package()
        raise PostgresMissing(
            f"the PostgreSQL server binaries ({', '.join(SERVER_BINARIES)}) are not installed: none in "
            f"{root}/<major>/bin. They come from Debian's package {package} (`apt-get install {package}`); "
            f"or name a folder holding them in {BIN_ENV}")
    return candidates[0]


# -- who runs the server --


@dataclass(frozen=True)
class Account:
    """The unprivileged account the server runs as when this process is root."""

    name: str
    uid: int
    gid: int


def service_account(names: Sequence[str] = SERVICE_ACCOUNTS) -> Account | None:
    """None when this process is not root (the server runs as we do); else the first existing account."""
    if os.geteuid() != 0:
        return None
    for name in names:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return Account(name, entry.pw_uid, entry.pw_gid)
    raise PostgresMissing(f"running as root, PostgreSQL needs an unprivileged account to run as; none of "
                          f"{', '.join(names)} exists")


def as_account(argv: Sequence[str], account: Account | None) -> list[str]:
    """`argv` run as `account` (through setpriv, keeping the parent-death signal), or as it is."""
    if account is None:
        return list(argv)
    return ["setpriv", f"--reuid={account.uid}", f"--regid={account.gid}", "--clear-groups",
            "--pdeathsig", "keep", "--", *argv]


# -- what to run (pure) --


def initdb_argv(bindir: Path, datadir: Path, pwfile: Path) -> list[str]:
    """initdb of a cluster whose superuser logs in with the password in `pwfile`, over SCRAM only."""
    return [str(bindir / "initdb"), "--pgdata", str(datadir), "--username", SUPERUSER, "--pwfile", str(pwfile),
            "--auth", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync", "--no-instructions"]


def server_argv(bindir: Path, datadir: Path, port: int) -> list[str]:
    """The server of `datadir` on 127.0.0.1:`port` with SERVER_SETTINGS."""
    argv = [str(bindir / "postgres"), "-D", str(datadir), "-p", str(port)]
    for key, value in SERVER_SETTINGS.items():
        argv += ["-c", f"{key}={value}"]
    return argv


# -- the running cluster --


@dataclass(frozen=True)
class Database:
    """A database of the cluster and its owner role."""

    name: str
    user: str
    password: str
    port: int
    host: str = LOOPBACK

    @property
    def url(self) -> str:
        """postgresql://user:password@127.0.0.1:port/name (what the backend's DATABASE_URL Secret holds)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"

    @property
    def conninfo(self) -> str:
        """The same connection as libpq key=value pairs (a Dapr state.postgresql connectionString)."""
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={self.name}"


@dataclass
class Postgres:
    """A cluster started by `running`."""

    sup: Supervisor
    name: str
    root: Path
    port: int
    password: str
    databases: dict[str, Database] = field(default_factory=dict)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def superuser(self) -> Database:
        return Database("postgres", SUPERUSER, self.password, self.port)

    def connect(self, timeout: int = 2) -> psycopg.Connection:
        """An autocommit connection as the superuser."""
        return psycopg.connect(self.superuser.url, connect_timeout=timeout, autocommit=True)

    def create_database(self, name: str, user: str | None = None, password: str | None = None) -> Database:
        """Database `name` owned by a new role `user` (default: the same name) with `password` (default: random)."""
        user = user or name
        for what, value in (("database", name), ("user", user)):
            if not IDENTIFIER.match(value):
                raise PostgresError(f"{what} name {value!r}: use lowercase letters, digits and _ (at most 63)")
        password = password or secrets.token_urlsafe(18)
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user),
                                                                         sql.Literal(password)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(user)))
        db = Database(name, user, password, self.port)
        self.databases[name] = db
        return db

    def ready(self) -> bool:
        with self.connect() as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)

    def alive(self) -> bool:
        return self.sup.alive(self.name)

    def stop(self) -> int | None:
        """Fast shutdown (SIGINT: sessions are ended, no waiting for clients); returns the exit code."""
        return self.sup.stop(self.name, signal.SIGINT)

    def start(self, timeout: float = 60) -> float:
        """(Re)start the server on its port; returns the seconds it took to accept connections."""
        bindir = find_server()
        account = service_account()
        self.sup.start(self.name, as_account(server_argv(bindir, self.datadir, self.port), account), cwd=self.root)
        return self.sup.wait_for(self.name, self.ready, timeout=timeout,
                                 what=f"PostgreSQL to accept connections on {LOOPBACK}:{self.port}")


@contextlib.contextmanager
def running(sup: Supervisor, *, name: str = "postgres", databases: Sequence[str] = (),
            timeout: float = 60) -> Iterator[Postgres]:
    """A fresh cluster with `databases` (each owned by a role of the same name), stopped and deleted after."""
    bindir = find_server()
    account = service_account()
    root = Path(tempfile.mkdtemp(prefix="todo-pg-"))
    try:
        password = secrets.token_urlsafe(18)
        pwfile = root / "superuser-password"
        pwfile.write_text(password + "\n")
        if account is not None:
            for path in (root, pwfile):
                os.chown(path, account.uid, account.gid)
        run(as_account(initdb_argv(bindir, root / "data", pwfile), account), cwd=root, timeout=timeout)
        pwfile.unlink()
        pg = Postgres(sup, name, root, sup.free_port(), password)
        pg.start(timeout)
        try:
            for db in databases:
                pg.create_database(db)
            yield pg
        finally:
            pg.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
