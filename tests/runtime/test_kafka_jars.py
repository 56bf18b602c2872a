"""The Kafka broker's jars follow the platform's Kafka version, are checked by sha256 on every use, and a jar
that cannot be had or does not match fails the run naming it (it never skips)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from todo_cloud import envs
from todo_cloud.render import find, render_subchart
from todo_cloud.runtime import kafka_jars


def test_the_locked_kafka_jars_are_the_version_charts_platform_pins() -> None:
    lock = kafka_jars.read_lock()
    version = kafka_jars.platform_version()
    kafka_jars_in_lock = {j.coordinate for j in lock.jars if j.group == "org.apache.kafka"}
    assert lock.kafka_version == version, f"run {kafka_jars.LOCK_COMMAND}"
    assert {c.rsplit(":", 1)[1] for c in kafka_jars_in_lock} == {version}, kafka_jars_in_lock
    locked = {j.coordinate for j in lock.jars}
    assert set(kafka_jars.roots(version)) <= locked, "every root of versions.toml [kafka] is locked"


@pytest.mark.parametrize("env", envs.names())
def test_every_environment_runs_the_kafka_version_of_the_jars(env: str) -> None:
    kafka = find(render_subchart("platform", env), "Kafka")
    assert [k["spec"]["kafka"]["version"] for k in kafka] == [kafka_jars.read_lock().kafka_version]


def test_the_slf4j_binding_is_the_log4j_that_kafka_server_depends_on() -> None:
    versions = {j.artifact: j.version for j in kafka_jars.read_lock().jars if j.group == "org.apache.logging.log4j"}
    assert versions["log4j-slf4j-impl"] == versions["log4j-core"] == versions["log4j-api"], versions


def test_a_cached_jar_whose_sha256_differs_from_the_lock_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    kafka_jars.ensure()
    real = kafka_jars.read_lock()
    tampered = dataclasses.replace(real.jars[0], sha256="0" * 64)
    monkeypatch.setattr(kafka_jars, "read_lock", lambda path=None: dataclasses.replace(
        real, jars=(tampered, *real.jars[1:])))
    with pytest.raises(kafka_jars.JarError, match=rf"^{tampered.coordinate}: .* has sha256 [0-9a-f]{{64}}, the lock "
                                                  r"\(jars.lock\) pins 0{64}; refusing it"):
        kafka_jars.ensure()


def test_a_jar_maven_cannot_fetch_fails_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = kafka_jars.read_lock()
    missing = kafka_jars.Jar("org.apache.kafka", "kafka-no-such-artifact", real.kafka_version, "0" * 64)
    monkeypatch.setattr(kafka_jars, "read_lock", lambda path=None: dataclasses.replace(
        real, jars=(*real.jars, missing)))
    monkeypatch.setattr(kafka_jars, "cache_dir", lambda version: tmp_path / version)
    with pytest.raises(kafka_jars.JarError, match=r"(?s)mvn copy-dependencies failed.*kafka-no-such-artifact"):
        kafka_jars.ensure()
