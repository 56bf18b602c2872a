"""The logical-dump drill: the dump CronJob of the production render, run here with its own command lines, dumps
a real PostgreSQL holding the backend's schema and rows, uploads the dump to an S3 server on 127.0.0.1 and prunes
what its retention says; the dump, downloaded again, restores into an empty database with the runbook's
pg_restore, and the two databases are compared: same schema, same rows.

- The command lines are the rendered containers' (todo_cloud.runtime.postgres_dump reads them off the CronJob);
  only what differs between the cluster and this machine is replaced: the folders and Secret files (`*_FILE`,
  DUMP_DIR, HOME) and the bucket's S3 endpoint (RCLONE_CONFIG_SPACES_ENDPOINT).
- PostgreSQL is Debian's server (todo_cloud.runtime.postgres), its pg_dump and pg_restore the same installation's.
- The S3 server is `rclone serve s3` over a temporary folder (MIT; the rclone of the job's image, built from the
  Go module proxy: versions.toml [go_builds.rclone]); its folders are the buckets, so what the upload wrote and
  what the pruning left are read off the disk.
- The rows are written by the backend's own store module (workloads/backend/todo_backend/store.py), which also
  creates its schema, as the running backend does.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from todo_cloud.paths import DOCS, REPO
from todo_cloud.processes import Supervisor
from todo_cloud.run import CommandError, run
from todo_cloud.runtime import postgres
from todo_cloud.runtime import postgres_dump as pd

pytestmark = pytest.mark.xdist_group("postgres-dump")

# The environment whose dump job is drilled (local renders none).
ENV = "production"
# Bound of each step (a dump of a few rows takes well under a second).
STEP_TIMEOUT = 120
STORE = REPO / "workloads" / "backend" / "todo_backend" / "store.py"
STAMP = re.compile(r"^[0-9]{8}T[0-9]{6}Z\.dump$")
DAY = 86400


def backend_store() -> ModuleType:
    """The backend's store module, loaded from its file (it imports only psycopg)."""
    spec = importlib.util.spec_from_file_location("todo_backend_store_drill", STORE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def seed(url: str) -> None:
    """Todos (one completed, one edited, one deleted) and chat messages, through the backend's Store."""
    store = backend_store().Store(url)

    async def published(row: dict[str, Any]) -> None:
        del row

    await store.open()
    try:
        todos = [await store.create_todo(user, title, f"{title}, by {user}", published)
                 for user, title in [("alice", "buy milk"), ("alice", "file taxes"), ("bob", "call mum"),
                                     ("bob", "unicode: café ☕")]]
        await store.update_todo(uuid.UUID(todos[0]["id"]), {"completed": True}, published)
        await store.update_todo(uuid.UUID(todos[1]["id"]), {"title": "file taxes (2026)"}, published)
        await store.delete_todo(uuid.UUID(todos[2]["id"]), published)
        for n in range(3):
            await store.add_message("alice-chat", "alice", f"message {n}", published)
    finally:
        await store.close()


@dataclass
class Drill:
    """What one run of the drill produced."""

    job: pd.DumpJob
    values: dict
    bucket_dir: Path
    dump_dir: Path
    work: Path
    uploaded: str
    kept_before: set[str]
    source: pd.Snapshot
    restored: pd.Snapshot
    restore_argv: list[str]
    failed_upload: CommandError | None
    after_failed_upload: set[str]
    server_log: str
    failed_dump: CommandError | None
    after_failed_dump: set[str]


def objects(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


@pytest.fixture(scope="module")
def rclone(prerequisite: Callable[[str], Path]) -> Path:
    """The pinned rclone (`make prereqs` builds it); the drill fails, never skips, without it."""
    return prerequisite("rclone")


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory, rendered_objects: Callable, platform_values: Callable,
          rclone: Path, prerequisite: Callable[[str], Path]) -> Iterator[Drill]:
    values = platform_values(ENV)["postgresDump"]
    job = pd.job(rendered_objects(ENV))
    work = tmp_path_factory.mktemp("postgres-dump")
    pg_bin = prerequisite("postgresql")
    folders = {name: work / name for name in ("secrets", "dump", "home", "s3", "download")}
    for folder in folders.values():
        folder.mkdir()
    bucket_dir = folders["s3"] / values["bucket"] / values["prefix"]
    bucket_dir.mkdir(parents=True)
    retention_days = int(values["retention"].removesuffix("d")) if values["retention"].endswith("d") else 1
    # What the bucket holds before the run: a dump past the retention, one within it, and an object that is no
    # dump (never deleted, whatever its age).
    seeded = {"20250101T000000Z.dump": retention_days + 5, "recent.dump": 1, "README.txt": retention_days + 5}
    for name, age in seeded.items():
        path = bucket_dir / name
        path.write_text(f"{name}\n")
        os.utime(path, (time.time() - age * DAY,) * 2)
    key = (f"drill{secrets.token_hex(6)}", secrets.token_hex(20))
    secret_files = {"DATABASE_URL": "", "SPACES_ACCESS_KEY_ID": key[0], "SPACES_SECRET_ACCESS_KEY": key[1]}
    with Supervisor(work, grace=5) as sup, postgres.running(sup, databases=["todo", "restored"]) as pg:
        secret_files["DATABASE_URL"] = pg.databases["todo"].url
        for name, text in secret_files.items():
            (folders["secrets"] / name).write_text(text)
        asyncio.run(seed(pg.databases["todo"].url))
        files = {f"{name}_FILE": str(folders["secrets"] / name) for name in secret_files}
        local = {"DUMP_DIR": str(folders["dump"]), "HOME": str(folders["home"])}

        dump_env = job.dump.local_env({**local, "DATABASE_URL_FILE": files["DATABASE_URL_FILE"]}, [pg_bin])
        pd.run_step(job.dump, dump_env, cwd=work, timeout=STEP_TIMEOUT)
        (uploaded,) = objects(folders["dump"])
        with pd.s3_server(sup, rclone, folders["s3"], key) as s3:
            upload_env = job.upload.local_env({
                **local, "SPACES_ACCESS_KEY_ID_FILE": files["SPACES_ACCESS_KEY_ID_FILE"],
                "SPACES_SECRET_ACCESS_KEY_FILE": files["SPACES_SECRET_ACCESS_KEY_FILE"],
                "RCLONE_CONFIG_SPACES_ENDPOINT": s3.endpoint}, [rclone.parent])
            pd.run_step(job.upload, upload_env, cwd=work, timeout=STEP_TIMEOUT)
            kept = objects(bucket_dir)

            # The dump back from the bucket (with the same remote and key), then restored into the empty
            # database as the runbook says.
            downloaded = folders["download"] / uploaded
            run([rclone, "copyto", f"spaces:{values['bucket']}/{values['prefix']}/{uploaded}", downloaded],
                env={**upload_env, "RCLONE_CONFIG_SPACES_ACCESS_KEY_ID": key[0],
                     "RCLONE_CONFIG_SPACES_SECRET_ACCESS_KEY": key[1]}, cwd=work, timeout=STEP_TIMEOUT)
            argv = pd.restore_argv(pg_bin / "pg_restore", downloaded, pg.databases["restored"].url)
            run(argv, cwd=work, timeout=STEP_TIMEOUT)

            # Bad input: a key the server refuses. The upload fails, and nothing is pruned.
            old = bucket_dir / "20250102T000000Z.dump"
            old.write_text("old\n")
            os.utime(old, (time.time() - (retention_days + 5) * DAY,) * 2)
            (folders["secrets"] / "SPACES_SECRET_ACCESS_KEY").write_text("not-the-key")
            failed_upload = None
            try:
                pd.run_step(job.upload, upload_env, cwd=work, timeout=STEP_TIMEOUT)
            except CommandError as exc:
                failed_upload = exc
            after_failed_upload = objects(bucket_dir)
            server_log = sup.log("s3").read_text()

        # Bad input: a database that does not answer. The dump fails and leaves no dump to upload.
        for leftover in folders["dump"].iterdir():
            leftover.unlink()
        (folders["secrets"] / "DATABASE_URL").write_text(
            f"postgresql://todo:wrong@127.0.0.1:{sup.free_port()}/todo?connect_timeout=3")
        failed_dump = None
        try:
            pd.run_step(job.dump, dump_env, cwd=work, timeout=STEP_TIMEOUT)
        except CommandError as exc:
            failed_dump = exc
        yield Drill(job, values, bucket_dir, folders["dump"], work, uploaded, kept,
                    pd.snapshot(pg.databases["todo"].url), pd.snapshot(pg.databases["restored"].url), argv,
                    failed_upload, after_failed_upload, server_log, failed_dump, objects(folders["dump"]))


def test_the_drill_runs_the_rendered_command_lines(drill: Drill) -> None:
    dump, upload = drill.job.dump, drill.job.upload
    assert dump.argv[:2] == upload.argv[:2] == ("/bin/sh", "-ec")
    pg_dump = next(line for line in dump.script.splitlines() if line.startswith("pg_dump "))
    assert pg_dump.endswith(" " + " ".join(drill.values["pgDumpOptions"]))
    target = f"'spaces:{drill.values['bucket']}/{drill.values['prefix']}'"
    assert f"rclone copy \"$DUMP_DIR\" {target}" in upload.script
    assert f"rclone delete {target} --include '*.dump' --min-age '{drill.values['retention']}'" in upload.script


def test_the_dump_lands_in_the_bucket_under_its_prefix_named_by_its_time(drill: Drill) -> None:
    assert STAMP.match(drill.uploaded), drill.uploaded
    assert drill.uploaded in drill.kept_before
    assert (drill.bucket_dir / drill.uploaded).read_bytes().startswith(b"PGDMP"), "a pg_dump custom-format archive"


def test_dumps_older_than_the_retention_are_deleted_and_nothing_else(drill: Drill) -> None:
    assert drill.kept_before == {drill.uploaded, "recent.dump", "README.txt"}


def test_the_restored_database_has_the_backends_schema(drill: Drill) -> None:
    tables = {column[0] for column in drill.source.schema["columns"]}
    assert {"todos", "messages"} <= tables
    assert drill.restored.schema == drill.source.schema


def test_the_restored_database_has_the_same_rows(drill: Drill) -> None:
    assert {table: len(rows) for table, rows in drill.source.rows.items()} == {"todos": 3, "messages": 3}
    assert drill.restored.rows == drill.source.rows


def test_a_refused_upload_fails_the_run_and_deletes_nothing(drill: Drill) -> None:
    assert drill.failed_upload is not None, "the upload with a wrong key succeeded"
    assert "Access Denied" in drill.server_log, "the server did not refuse the key"
    assert "20250102T000000Z.dump" in drill.after_failed_upload
    assert drill.after_failed_upload == drill.kept_before | {"20250102T000000Z.dump"}


def test_a_dump_of_a_database_that_does_not_answer_fails_and_leaves_nothing_to_upload(drill: Drill) -> None:
    assert drill.failed_dump is not None, "pg_dump of a closed port succeeded"
    assert "pg_dump: error: connection to server at \"127.0.0.1\"" in drill.failed_dump.stderr, drill.failed_dump.stderr
    assert not {n for n in drill.after_failed_dump if n.endswith(".dump")}


def test_the_runbooks_restore_is_the_one_the_drill_runs() -> None:
    runbook = (DOCS / "RUNBOOK.md").read_text()
    lines = [line.strip() for line in runbook.splitlines() if line.strip().startswith("pg_restore ")]
    assert lines, "docs/RUNBOOK.md shows no pg_restore command"
    for line in lines:
        assert re.findall(r"--[a-z-]+(?==|\s|$)", line) == ["--dbname", *pd.RESTORE_OPTIONS], line
