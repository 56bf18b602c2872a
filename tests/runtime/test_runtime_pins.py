"""The Go-built binaries of the runtime suite are the versions the release runs: daprd at the umbrella's Dapr
chart, with exactly the components the rendered objects use; Prometheus at promtool's version; Jaeger
recorded against the Jaeger chart's appVersion."""

from __future__ import annotations

import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from todo_cloud import envs, gobuild, versions, yamlfile
from todo_cloud.paths import CHARTS, UMBRELLA
from todo_cloud.render import Manifest, render_chart, render_environment
from todo_cloud.run import run
from todo_cloud.runtime import dapr_pubsub, daprd, daprd_plan

pytestmark = pytest.mark.xdist_group("runtime-dapr")


def test_the_daprd_pin_is_the_umbrellas_dapr_chart_version() -> None:
    assert gobuild.pin("daprd").version == f"v{versions.load()['charts']['dapr']['version']}"


def test_daprd_reports_the_pinned_version(daprd_binary: Path) -> None:
    assert daprd.version(daprd_binary) == gobuild.pin("daprd").version.removeprefix("v")


def platform_variants() -> list[list[Manifest]]:
    """The platform chart with every component it can render switched on: each state store backend of
    dapr.statestore.type, and the secret store (off by default) scoped to one app."""
    values = yamlfile.load(CHARTS / "platform" / "values.yaml")["dapr"]
    some_app = next(iter(values["apps"]))
    return [render_chart(CHARTS / "platform", overrides={"dapr": {
        "statestore": {"type": backend}, "secretstore": {"enabled": True, "scopes": [some_app]}}})
        for backend in ("postgresql", "redis")]


def test_daprd_is_built_with_exactly_the_component_types_the_rendered_objects_use(upstream_charts: object) -> None:
    used: set[str] = set()
    for env in envs.names():
        used |= daprd_plan.component_types(render_environment(env))
    for rendered in platform_variants():
        used |= daprd_plan.component_types(rendered)
    assert set(versions.load()["go_builds"]["daprd"]["components"]) == used


def test_prometheus_is_built_at_promtools_version_with_the_same_stamps() -> None:
    server, tool = gobuild.pin("prometheus"), gobuild.pin("promtool")
    assert (server.version, server.ldflags, server.tags) == (tool.version, tool.ldflags, tool.tags)


def test_prometheus_reports_the_release_its_module_version_is(prerequisite: Callable[[str], Path]) -> None:
    out = run([prerequisite("prometheus"), "--version"], timeout=30).stdout
    minor = gobuild.pin("prometheus").version.split(".")[1]  # v0.316.0 -> Prometheus 3.16.0
    assert out.startswith(f"prometheus, version 3.{int(minor) - 300}.0 ")


def jaeger_chart_app_version() -> str:
    pin = versions.load()["charts"]["jaeger"]
    with tarfile.open(UMBRELLA / "charts" / f"jaeger-{pin['version']}.tgz") as tgz:
        member = tgz.extractfile("jaeger/Chart.yaml")
        assert member is not None
        return str(yaml.safe_load(member.read())["appVersion"])


def test_the_jaeger_pin_records_the_charts_app_version_it_stands_in_for(upstream_charts: object) -> None:
    assert versions.load()["go_builds"]["jaeger"]["chart_app_version"] == jaeger_chart_app_version()


def test_jaeger_reports_the_pinned_release(prerequisite: Callable[[str], Path]) -> None:
    out = run([prerequisite("jaeger"), "version"], timeout=30)
    assert f'"gitVersion":"{versions.load()["go_builds"]["jaeger"]["release"]}"' in out.stdout + out.stderr


def test_the_retry_defaults_the_harness_assumes_are_those_of_the_pinned_daprd() -> None:
    """dapr_pubsub.DAPR_EXPONENTIAL_DEFAULTS against the cenkalti/backoff v4 source that the pinned Dapr's go.mod
    requires (its exponential.go), read from the Go module cache."""
    pin = gobuild.pin("daprd")
    dapr = gobuild.module_dir(pin.module, pin.version)
    module = "github.com/cenkalti/backoff/v4"
    source = (gobuild.module_dir(module, gobuild.required_version(dapr / "go.mod", module)) / "exponential.go")
    consts = dict(re.findall(r"^\s*(Default\w+)\s*=\s*(.+?)\s*$", source.read_text(), re.MULTILINE))
    go = {"500 * time.Millisecond": 0.5, "60 * time.Second": 60.0}
    found = {key: go.get(consts[name]) if "time." in consts[name] else float(consts[name])
             for key, name in dapr_pubsub.DEFAULT_CONSTANTS.items()}
    assert found == dapr_pubsub.DAPR_EXPONENTIAL_DEFAULTS
