"""The app images make up builds and loads: derived from the release rendered for `local` and workloads/, built
with `docker build` of workloads/<name>/Dockerfile (context workloads/), tagged as the release names them,
loaded with `kind load docker-image`; recorded with fake docker and kind executables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.kind.support import (
    ANALYTICS,
    ANALYTICS_WIRING,
    BACKEND,
    FRONTEND,
    calls,
    docker_with_images,
    kind_reporting,
)
from todo_cloud import envs, workloads, yamlfile
from todo_cloud.local import checks, lifecycle, steps
from todo_cloud.local.checks import CLUSTER, Context, Pins
from todo_cloud.local.images import Build, ImageError, LocalImages, local_images
from todo_cloud.paths import CHARTS
from todo_cloud.render import Manifest, render_environment

NOTIFICATION = "kind.local/todo-chatbot-notification:dev"


@pytest.fixture(scope="module")
def local_release(upstream_charts: Any) -> list[Manifest]:
    del upstream_charts
    return render_environment("local")


@pytest.fixture(scope="module")
def wired_release(upstream_charts: Any) -> list[Manifest]:
    """The local release with the analytics consumer wired in (workloads/README.md)."""
    del upstream_charts
    return render_environment("local", ANALYTICS_WIRING)


def build_line(image: str, workload: str) -> str:
    return f"docker build --file {workloads.WORKLOADS}/{workload}/Dockerfile --tag {image} {workloads.WORKLOADS}"


# --- which images ------------------------------------------------------------------------------------------


def test_the_images_make_up_builds_are_the_release_s_app_images_each_from_its_workload(
        local_release: list[Manifest]) -> None:
    images = local_images(local_release, checks.local_registry())
    assert images.builds == (Build(ANALYTICS, "analytics"), Build(BACKEND, "backend"), Build(FRONTEND, "frontend"))
    assert images.prebuilt == ()
    assert images.images == [ANALYTICS, BACKEND, FRONTEND]


def test_with_the_analytics_consumer_in_the_release_make_up_builds_all_three_workload_images(
        wired_release: list[Manifest]) -> None:
    images = local_images(wired_release, checks.local_registry())
    assert images.builds == (Build(ANALYTICS, "analytics"), Build(BACKEND, "backend"), Build(FRONTEND, "frontend"))
    assert {b.workload for b in images.builds} == set(workloads.names()), "every workload of workloads/"


@pytest.mark.parametrize("component", ["backend", "frontend"])
def test_each_image_is_tagged_as_values_local_yaml_expects(local_release: list[Manifest], component: str) -> None:
    local = yamlfile.load(envs.get("local").values_file)["app"]
    chart = yamlfile.load(CHARTS / "app" / "values.yaml")["components"][component]
    expected = (f"{local['image']['registry']}/{chart['image']['repository']}:"
                f"{local['components'][component]['image']['tag']}")
    build = next(b for b in local_images(local_release, checks.local_registry()).builds if b.workload == component)
    assert build.image == expected
    assert build.argv == ["docker", "build", "--file", str(workloads.dockerfile(component)), "--tag", expected,
                          str(workloads.WORKLOADS)]


def test_an_image_two_workload_components_run_is_refused_naming_both() -> None:
    def deployment(component: str) -> Manifest:
        return {"kind": "Deployment", "metadata": {"name": f"todo-chatbot-{component}"},
                "spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/component": component}},
                                      "spec": {"containers": [{"name": "app", "image": BACKEND}]}}}}

    with pytest.raises(ImageError, match=rf"^the image {BACKEND} is run by the components backend, frontend "
                                         r"\(Deployment/-/todo-chatbot-backend, Deployment/-/todo-chatbot-frontend\)"):
        local_images([deployment("backend"), deployment("frontend")], "kind.local")


# --- checks: an image no workload builds ---------------------------------------------------------------------


@pytest.fixture
def with_notification(monkeypatch: pytest.MonkeyPatch, upstream_charts: Any) -> None:
    """The local release with a component whose image no workload builds (the notification consumer)."""
    del upstream_charts
    overrides = {"app": {"components": {"notification": {"enabled": True, "image": {"tag": "dev"}}}}}
    monkeypatch.setattr("todo_cloud.render.render_environment", lambda env: render_environment(env, overrides))
    monkeypatch.setattr("todo_cloud.gates.external_crds.crd_documents_of",
                        lambda name: ({"kind": "CustomResourceDefinition"},))


def test_an_image_no_workload_builds_must_be_in_docker_or_make_up_stops_in_one_line(
        with_notification: None, fake_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docker_with_images(fake_path, ())
    kind_reporting(fake_path, Pins.load().kind_version)
    assert lifecycle.up() == 1
    assert capsys.readouterr().err == (
        f"make up: cannot deploy the local environment: the image {NOTIFICATION} is not in the local Docker and no "
        f"folder of workloads/ ({', '.join(workloads.names())}) builds it: build and tag it from the app's source "
        f"(`docker build -t {NOTIFICATION} <its source folder>`), then run make up again; nothing was changed\n")
    # Only looks: nothing built, no cluster, no image load.
    assert calls(fake_path) == ["docker info", "kind version", f"docker image inspect {NOTIFICATION}"]


def test_an_image_no_workload_builds_is_loaded_as_it_is_in_docker(
        with_notification: None, fake_path: Path) -> None:
    docker_with_images(fake_path, (NOTIFICATION,))
    ctx = checks.prepare(fake_path / "kind")
    assert ctx.images.prebuilt == (NOTIFICATION,)
    assert NOTIFICATION not in {b.image for b in ctx.images.builds}
    assert NOTIFICATION in ctx.images.images


# --- the recorded build and load ------------------------------------------------------------------------------


def context(fake: Path, *builds: Build, prebuilt: tuple[str, ...] = ()) -> Context:
    return Context(Pins.load(), fake / "kind", images=LocalImages(builds, prebuilt))


BUILDS = (Build(ANALYTICS, "analytics"), Build(BACKEND, "backend"), Build(FRONTEND, "frontend"))


def test_make_up_builds_every_workload_image_then_loads_every_image_into_kind(fake_path: Path) -> None:
    docker_with_images(fake_path, (NOTIFICATION,))
    kind_reporting(fake_path, Pins.load().kind_version)
    ctx = context(fake_path, *BUILDS, prebuilt=(NOTIFICATION,))
    steps.build_images(ctx)
    steps.load_images(ctx)
    assert calls(fake_path) == [
        build_line(ANALYTICS, "analytics"), build_line(BACKEND, "backend"), build_line(FRONTEND, "frontend"),
        f"kind load docker-image --name {CLUSTER} {ANALYTICS} {BACKEND} {FRONTEND} {NOTIFICATION}"]


def test_building_and_loading_again_repeats_the_same_commands_and_removes_nothing(fake_path: Path) -> None:
    docker_with_images(fake_path, ())
    kind_reporting(fake_path, Pins.load().kind_version)
    ctx = context(fake_path, *BUILDS)
    for _ in range(2):
        steps.build_images(ctx)
        steps.load_images(ctx)
    once = calls(fake_path)[: len(calls(fake_path)) // 2]
    assert calls(fake_path) == once + once
    assert not [c for c in once if c.split()[1] in ("rmi", "rm", "delete", "create")], once


def test_the_build_comes_first_and_a_failed_build_stops_make_up_before_the_cluster(
        upstream_charts: Any, fake_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    del upstream_charts
    monkeypatch.setattr("todo_cloud.gates.external_crds.crd_documents_of",
                        lambda name: ({"kind": "CustomResourceDefinition"},))
    docker_with_images(fake_path, (), failing_build=FRONTEND)
    kind_reporting(fake_path, Pins.load().kind_version)
    assert lifecycle.up() == 1
    assert calls(fake_path) == ["docker info", "kind version", build_line(ANALYTICS, "analytics"),
                                build_line(BACKEND, "backend"), build_line(FRONTEND, "frontend")], \
        "checks, then the builds; no cluster"
    err = capfd.readouterr().err
    assert f"make up: 1/10 build-images: docker build the app images from workloads/ ({ANALYTICS} from " in err
    assert "make up: failed: " in err and "build failed" in err and "every step is idempotent" in err


def test_the_dry_run_names_the_image_builds(upstream_charts: Any, fake_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    del upstream_charts
    monkeypatch.setattr("todo_cloud.render.render_environment",
                        lambda env: render_environment(env, ANALYTICS_WIRING))
    monkeypatch.setattr("todo_cloud.gates.external_crds.crd_documents_of",
                        lambda name: ({"kind": "CustomResourceDefinition"},))
    assert lifecycle.up(dry_run=True) == 1  # no Docker here
    out = capsys.readouterr().out.splitlines()
    assert [line for line in out if line.startswith("  image ")] == [
        f"  image {image}: built from workloads/{name}/Dockerfile"
        for image, name in ((ANALYTICS, "analytics"), (BACKEND, "backend"), (FRONTEND, "frontend"))]
    assert calls(fake_path) == []


def test_without_docker_nothing_is_built(fake_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def never(ctx: Context) -> None:
        raise AssertionError("built without Docker")

    monkeypatch.setattr(steps, "build_images", never)
    assert lifecycle.up() == 1
    assert capsys.readouterr().err.count("\n") == 1, "one line"
    assert calls(fake_path) == []
