"""The PostgreSQL dump job of charts/platform (`postgresDump`), run on this machine with the command lines of the
rendered CronJob, and what its restore drill needs besides (tests/runtime/test_postgres_dump_drill.py):

    job = postgres_dump.job(rendered_objects)             # the CronJob's steps: dump, then upload
    env = job.dump.local_env({"DUMP_DIR": "...", "DATABASE_URL_FILE": "..."}, path=[pg_bin])
    postgres_dump.run_step(job.dump, env, cwd=work, timeout=120)

- `job(docs)`: the rendered CronJob's two steps in the order the pod runs them (its init container `dump`, then
  its container `upload`), each with the argv of the container (`command` + `args`, as rendered) and its
  environment as rendered. Secrets reach the containers as files named by `*_FILE` variables, so every variable
  has a value; a `valueFrom` is refused, naming it.
- `Step.local_env(replace, path)`: the step's environment on this machine: the rendered one with only the named
  variables replaced (the folders, the Secret files, the S3 endpoint) and PATH set to where the binaries are.
  Replacing a variable the step does not set is refused: the drill adds nothing the cluster would not have.
- `run_step`: one step's argv through `todo_cloud.run.run`, bounded in time.
- `s3_server(sup, root, key)`: `rclone serve s3` on 127.0.0.1 over a folder (each top folder a bucket), the
  S3-compatible target of the upload; `rclone` is versions.toml [go_builds.rclone], the rclone of the job's image.
- `RESTORE_OPTIONS`, `restore_argv`: the pg_restore of docs/RUNBOOK.md "Restore a logical dump" (a test keeps
  the runbook's command and these options the same).
- `snapshot(url)`: a database's schema (tables, columns, constraints, indexes) and rows, to compare two.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from todo_cloud.manifests import Manifest, pod_spec
from todo_cloud.processes import LOOPBACK, Supervisor, http_status
from todo_cloud.run import Completed, run

CRONJOB_NAME = "postgres-dump"
# The pg_restore options of docs/RUNBOOK.md's restore: into an empty database as its owner (roles of the target
# differ from the source's, and the dump carries neither owners nor grants), all or nothing, stopping at the
# first error.
RESTORE_OPTIONS = ("--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction")


class DumpJobError(ValueError):
    """The rendered objects hold no dump job of the expected shape; the message names the object and field."""


@dataclass(frozen=True)
class Step:
    """One container of the dump job's pod: what it runs and with which environment, as rendered."""

    name: str
    image: str
    argv: tuple[str, ...]
    env: Mapping[str, str]

    def local_env(self, replace: Mapping[str, str], path: Sequence[Path | str]) -> dict[str, str]:
        """The rendered environment with `replace`'s variables replaced, and PATH = `path` then /usr/bin:/bin."""
        unknown = sorted(set(replace) - set(self.env))
        if unknown:
            raise DumpJobError(f"container {self.name} sets no {', '.join(unknown)}: the drill replaces only what "
                               f"the rendered container sets ({', '.join(sorted(self.env))})")
        return {**self.env, **replace, "PATH": ":".join([*(str(p) for p in path), "/usr/bin", "/bin"])}

    @property
    def script(self) -> str:
        """The shell script the step runs (`sh -ec <script>`)."""
        return self.argv[-1]


@dataclass(frozen=True)
class DumpJob:
    """The rendered dump CronJob: its schedule and its two steps."""

    ref: str
    schedule: str
    dump: Step
    upload: Step


def _step(ref: str, where: str, container: Mapping[str, Any]) -> Step:
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        if "value" not in item:
            raise DumpJobError(f"{ref} {where} {container['name']} env {item['name']}: not a plain value (Secrets "
                               f"are files named by *_FILE variables)")
        env[item["name"]] = str(item["value"])
    argv = tuple(str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])])
    if not argv:
        raise DumpJobError(f"{ref} {where} {container['name']}: no command")
    return Step(container["name"], container["image"], argv, env)


def job(docs: Sequence[Manifest]) -> DumpJob:
    """The dump job among rendered objects (the CronJob labelled app.kubernetes.io/name: postgres-dump)."""
    found = [d for d in docs if d.get("kind") == "CronJob"
             and (d["metadata"].get("labels") or {}).get("app.kubernetes.io/name") == CRONJOB_NAME]
    if len(found) != 1:
        raise DumpJobError(f"expected one CronJob labelled app.kubernetes.io/name={CRONJOB_NAME}, found {len(found)}")
    cronjob = found[0]
    ref = f"CronJob/{cronjob['metadata']['name']}"
    spec = pod_spec(cronjob) or {}
    inits = {c["name"]: c for c in spec.get("initContainers") or []}
    mains = {c["name"]: c for c in spec.get("containers") or []}
    if set(inits) != {"dump"} or set(mains) != {"upload"}:
        raise DumpJobError(f"{ref}: expected init container `dump` and container `upload`, found "
                           f"{sorted(inits)} and {sorted(mains)}")
    return DumpJob(ref, cronjob["spec"]["schedule"], _step(ref, "initContainer", inits["dump"]),
                   _step(ref, "container", mains["upload"]))


def run_step(step: Step, env: Mapping[str, str], *, cwd: Path, timeout: float) -> Completed:
    """Run one step as the pod would (its argv, `env`), in `cwd`; CommandError with its output when it fails."""
    return run(list(step.argv), env=env, cwd=cwd, timeout=timeout)


# --- the S3-compatible target ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class S3Server:
    """`rclone serve s3` on loopback: its endpoint, its key, and the folder that holds its buckets."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    root: Path


@contextlib.contextmanager
def s3_server(sup: Supervisor, rclone: Path, root: Path, key: tuple[str, str], *, name: str = "s3",
              timeout: float = 30) -> Iterator[S3Server]:
    """An S3 server on 127.0.0.1 over `root` (each folder of it a bucket), accepting only `key` (a refused request
    is logged as `Access Denied`); stopped after."""
    port = sup.free_port()
    access, secret = key
    sup.start(name, [rclone, "serve", "s3", str(root), "--addr", f"{LOOPBACK}:{port}",
                     "--auth-key", f"{access},{secret}", "--config", "/dev/null", "--log-level", "INFO"])
    endpoint = f"http://{LOOPBACK}:{port}"
    try:
        sup.wait_for(name, lambda: http_status(endpoint + "/") is not None, timeout=timeout,
                     what=f"rclone serve s3 to answer on {endpoint}")
        yield S3Server(endpoint, access, secret, root)
    finally:
        sup.stop(name)


# --- restore and comparison ------------------------------------------------------------------------------------


def restore_argv(pg_restore: Path | str, dump: Path, target_url: str) -> list[str]:
    """pg_restore of `dump` into the (empty) database at `target_url`, as docs/RUNBOOK.md restores."""
    return [str(pg_restore), f"--dbname={target_url}", *RESTORE_OPTIONS, str(dump)]


def shell_line(argv: Sequence[str]) -> str:
    """An argv as one shell line (for messages)."""
    return shlex.join(argv)


@dataclass(frozen=True)
class Snapshot:
    """What a restore must bring back: the schema of the public tables and every row, in key order."""

    schema: dict[str, Any]
    rows: dict[str, list[tuple[Any, ...]]]


_COLUMNS = """
SELECT table_name, column_name, data_type, is_nullable, column_default, ordinal_position
FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"""
_CONSTRAINTS = """
SELECT rel.relname, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid JOIN pg_namespace ns ON ns.oid = rel.relnamespace
WHERE ns.nspname = 'public' ORDER BY 1, 2"""
_INDEXES = "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"


def snapshot(url: str) -> Snapshot:
    """The schema and rows of the public tables of the database at `url`."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        columns = conn.execute(_COLUMNS).fetchall()
        tables = sorted({c[0] for c in columns})
        schema = {"columns": columns, "constraints": conn.execute(_CONSTRAINTS).fetchall(),
                  "indexes": conn.execute(_INDEXES).fetchall()}
        rows = {t: conn.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(t))).fetchall()
                for t in tables}
    return Snapshot(schema, rows)
