"""The throwaway PostgreSQL cluster of the runtime harness (todo_cloud.runtime.postgres): Debian's real
server on 127.0.0.1, found or named by package when missing, password-only, gone after the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from todo_cloud.processes import Supervisor, pid_alive, port_open
from todo_cloud.runtime import postgres


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[postgres.Postgres]:
    with Supervisor(tmp_path_factory.mktemp("pg")) as sup, postgres.running(sup, databases=["todo"]) as pg:
        yield pg


@pytest.mark.parametrize(("codename", "package"), [
    ("bookworm", "postgresql-15"), ("trixie", "postgresql-17"), ("plucky", "postgresql")])
def test_the_package_named_for_missing_binaries_follows_the_debian_release(tmp_path: Path, codename: str,
                                                                          package: str) -> None:
    release = tmp_path / "os-release"
    release.write_text(f'PRETTY_NAME="x"\nVERSION_CODENAME={codename}\n')
    assert postgres.debian_package(release) == package


def test_missing_server_binaries_fail_naming_the_debian_package_to_install(tmp_path: Path) -> None:
    package = postgres.debian_package()
    with pytest.raises(postgres.PostgresMissing, match=rf"initdb, postgres.*package {package} "
                                                       rf"\(`apt-get install {package}`\)"):
        postgres.find_server(root=tmp_path, override="")


def test_the_highest_major_version_with_both_binaries_is_chosen(tmp_path: Path) -> None:
    for major, binaries in (("13", ("initdb", "postgres")), ("15", ("initdb", "postgres")), ("17", ("initdb",))):
        (tmp_path / major / "bin").mkdir(parents=True)
        for binary in binaries:
            (tmp_path / major / "bin" / binary).write_text("")
    assert postgres.find_server(root=tmp_path, override="") == tmp_path / "15" / "bin"


def test_a_named_binary_folder_without_postgres_fails_naming_the_setting(tmp_path: Path) -> None:
    (tmp_path / "initdb").write_text("")
    with pytest.raises(postgres.PostgresMissing, match=rf"{postgres.BIN_ENV}={tmp_path}: no postgres"):
        postgres.find_server(override=str(tmp_path))


def test_a_database_is_reachable_with_its_owners_password_over_tcp(cluster: postgres.Postgres) -> None:
    db = cluster.databases["todo"]
    with psycopg.connect(db.url, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("todo", "todo")
    with psycopg.connect(db.conninfo, connect_timeout=5) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("todo",)


def test_a_wrong_password_is_refused(cluster: postgres.Postgres) -> None:
    db = cluster.databases["todo"]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(db.url.replace(db.password, "wrong"), connect_timeout=5)


def test_the_owner_can_create_tables_as_the_backend_and_the_state_store_do(cluster: postgres.Postgres) -> None:
    with psycopg.connect(cluster.databases["todo"].url, autocommit=True) as conn:
        conn.execute("CREATE TABLE owner_probe (k text PRIMARY KEY)")
        conn.execute("INSERT INTO owner_probe VALUES ('x')")
        assert conn.execute("SELECT count(*) FROM owner_probe").fetchone() == (1,)
        conn.execute("DROP TABLE owner_probe")


def test_the_server_listens_on_loopback_only_and_has_no_unix_socket(cluster: postgres.Postgres) -> None:
    with cluster.connect() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW unix_socket_directories").fetchone() == ("",)


def test_the_server_runs_unprivileged(cluster: postgres.Postgres) -> None:
    status = Path(f"/proc/{cluster.sup.pid(cluster.name)}/status").read_text()
    real_uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
    expected = postgres.service_account()
    assert real_uid == (expected.uid if expected else os.geteuid())
    assert real_uid != 0


def test_a_bad_database_name_is_refused_naming_it(cluster: postgres.Postgres) -> None:
    with pytest.raises(postgres.PostgresError, match=r"database name 'Todo-DB'"):
        cluster.create_database("Todo-DB")


def test_a_stopped_server_starts_again_on_its_port_with_its_data(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as sup, postgres.running(sup, databases=["keep"]) as pg:
        with psycopg.connect(pg.databases["keep"].url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (v int)")
            conn.execute("INSERT INTO t VALUES (42)")
        pg.stop()
        assert not port_open(pg.port)
        pg.start()
        with psycopg.connect(pg.databases["keep"].url) as conn:
            assert conn.execute("SELECT v FROM t").fetchone() == (42,)


def test_the_cluster_is_stopped_and_its_folder_deleted_after_the_run(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as sup, postgres.running(sup) as pg:
        pid, port, root = sup.pid(pg.name), pg.port, pg.root
        assert root.is_dir()
    assert not pid_alive(pid)
    assert not port_open(port)
    assert not root.exists()
