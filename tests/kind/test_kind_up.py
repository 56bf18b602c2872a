"""`make up` without Docker: the one-line messages of missing prerequisites (and that nothing changes then),
the order of the steps, the dry run, and the small helpers around PostgreSQL and Envoy Gateway. The app images
make up builds and loads: tests/kind/test_kind_images.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.kind.support import BACKEND, FRONTEND, calls, docker_with_images, fake_bin, kind_reporting
from todo_cloud import tools, yamlfile
from todo_cloud.deploy.secrets import RequiredSecret, SecretRef
from todo_cloud.local import checks, docker, lifecycle, steps
from todo_cloud.local import secrets as local_secrets
from todo_cloud.local.checks import Context, Pins, Unready
from todo_cloud.local.images import Build, LocalImages

STEPS = ["build-images", "cluster", "namespaces", "postgres", "secrets", "gateway-api-crds", "envoy-gateway",
         "gateway-class", "load-images", "deploy"]
INSTEAD = "run `make sim-up` for the simulated cluster, or `make render ENV=local` to review the manifests"
CANNOT = "make up: cannot build the app images and run kind here"


# --- missing prerequisites: one line, nothing changed -----------------------------------------------------


def test_without_docker_make_up_says_why_in_one_line(fake_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert lifecycle.missing() == "no docker client on PATH"
    assert lifecycle.up() == 1
    out = capsys.readouterr()
    assert out.err == f"{CANNOT}: no docker client on PATH; {INSTEAD}\n"
    assert out.out == ""


def test_without_a_docker_engine_make_up_says_so(fake_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_bin(fake_path, "docker", "exit 1")
    assert lifecycle.up() == 1
    assert capsys.readouterr().err == (
        f"{CANNOT}: no Docker engine is running (`docker info` fails); {INSTEAD}\n")
    assert calls(fake_path) == ["docker info"], "nothing built, nothing else asked"


def test_without_kind_make_up_says_how_to_get_the_pinned_one(fake_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    docker_with_images(fake_path, ())
    assert lifecycle.up() == 1
    kind = Pins.load().kind_version
    assert capsys.readouterr().err == (
        f"{CANNOT}: no kind {kind}: `make tools-go` builds it "
        f"(go install sigs.k8s.io/kind@{kind}), or put kind {kind} on PATH; {INSTEAD}\n")


def test_a_kind_of_another_version_is_not_used(fake_path: Path) -> None:
    docker_with_images(fake_path, ())
    kind_reporting(fake_path, "v0.20.0")
    kind = Pins.load().kind_version
    assert lifecycle.missing() == (f"no kind {kind} (the kind on PATH is v0.20.0): `make tools-go` builds it "
                                   f"(go install sigs.k8s.io/kind@{kind}), or put kind {kind} on PATH")


def test_a_kind_of_the_pinned_version_on_path_is_used(fake_path: Path) -> None:
    kind_reporting(fake_path, Pins.load().kind_version)
    assert checks.kind_binary(Pins.load()) == fake_path / "kind"


def test_a_secret_without_recipe_stops_make_up_before_anything_changes(
        fake_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "release_requirements", lambda manifests: [
        RequiredSecret(SecretRef("todo-chatbot", "todo-chatbot-new"), ["Deployment/todo-chatbot/todo-chatbot-backend"],
                       ["k"])])
    monkeypatch.setattr("todo_cloud.render.render_environment", lambda env: [])
    monkeypatch.setattr("todo_cloud.deps.ensure", lambda: type("S", (), {"ready": True})())
    with pytest.raises(Unready, match=r"^no recipe for Secret todo-chatbot/todo-chatbot-new \(referenced by "
                                      r"Deployment/todo-chatbot/todo-chatbot-backend\)"):
        checks.prepare(fake_path / "kind")
    assert calls(fake_path) == []


# --- the steps --------------------------------------------------------------------------------------------


def context() -> Context:
    auth = RequiredSecret(SecretRef("todo-chatbot", "todo-chatbot-auth"), [], ["secret"])
    images = LocalImages((Build(BACKEND, "backend"), Build(FRONTEND, "frontend")))
    return Context(Pins.load(), "kind", [auth], images, crds="kind: CustomResourceDefinition\n")


def test_the_steps_come_in_this_order() -> None:
    planned = steps.plan(context())
    assert [s.key for s in planned] == STEPS
    titles = {s.key: s.title for s in planned}
    assert Pins.load().node_image in titles["cluster"]
    assert Pins.load().gateway["version"] in titles["envoy-gateway"]
    assert "envoy-gateway-system" in titles["envoy-gateway"]
    assert "GatewayClass eg (gateway.envoyproxy.io/gatewayclass-controller)" in titles["gateway-class"]
    assert titles["build-images"] == ("docker build the app images from workloads/ ("
                                      f"{BACKEND} from workloads/backend/Dockerfile; "
                                      f"{FRONTEND} from workloads/frontend/Dockerfile)")
    assert f"{BACKEND} {FRONTEND}" in titles["load-images"]
    assert titles["deploy"] == "todo-cloud deploy --env local"


def test_make_up_checks_then_runs_every_step_in_order(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    done: list[str] = []
    monkeypatch.setattr(docker, "docker_missing", lambda: None)
    monkeypatch.setattr(checks, "kind_binary", lambda pins, build=False: Path("/fake/kind"))
    monkeypatch.setattr(checks, "prepare",
                        lambda kind_bin, check_images=True: (done.append("checks"), context())[1])
    for name, key in (("build_images", "build-images"), ("create_cluster", "cluster"), ("start_postgres", "postgres"),
                      ("create_secrets", "secrets"), ("apply_gateway_api_crds", "gateway-api-crds"),
                      ("install_envoy_gateway", "envoy-gateway"), ("apply_gateway_class", "gateway-class"),
                      ("load_images", "load-images")):
        monkeypatch.setattr(steps, name, lambda ctx, key=key: done.append(key))
    monkeypatch.setattr(steps, "apply_namespaces", lambda: done.append("namespaces"))
    monkeypatch.setattr(steps, "deploy", lambda: done.append("deploy"))
    assert lifecycle.up() == 0
    assert done == ["checks", *STEPS]
    out = capsys.readouterr()
    assert "make up: the local environment is deployed" in out.out
    assert [line.split(":")[1].split()[1] for line in out.err.splitlines()] == STEPS


def test_a_failing_step_stops_make_up_saying_it_can_be_run_again(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    done: list[str] = []
    monkeypatch.setattr(docker, "docker_missing", lambda: None)
    monkeypatch.setattr(checks, "kind_binary", lambda pins, build=False: Path("/fake/kind"))
    monkeypatch.setattr(checks, "prepare", lambda kind_bin, check_images=True: context())
    monkeypatch.setattr(steps, "build_images", lambda ctx: done.append("build-images"))
    monkeypatch.setattr(steps, "create_cluster", lambda ctx: done.append("cluster"))
    monkeypatch.setattr(steps, "apply_namespaces", lambda: done.append("namespaces"))

    def no_postgres(ctx: Context) -> None:
        raise Unready("PostgreSQL in the container todo-chatbot-postgres is not ready after 120 s")

    monkeypatch.setattr(steps, "start_postgres", no_postgres)
    monkeypatch.setattr(steps, "create_secrets", lambda ctx: done.append("secrets"))
    assert lifecycle.up() == 1
    assert done == ["build-images", "cluster", "namespaces"]
    err = capsys.readouterr().err
    assert "make up: failed: PostgreSQL in the container todo-chatbot-postgres is not ready after 120 s\n" in err
    assert "every step is idempotent" in err


def test_the_dry_run_checks_and_prints_the_steps_without_changing_anything(
        upstream_charts: Any, fake_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    del upstream_charts
    monkeypatch.setattr("todo_cloud.gates.external_crds.crd_documents_of",
                        lambda name: ({"kind": "CustomResourceDefinition"},))
    assert lifecycle.up(dry_run=True) == 1  # no Docker here: make up would stop
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "make up --dry-run: nothing is changed"
    assert "  docker: no docker client on PATH" in out
    assert any(line.startswith("  secrets: a recipe for each: todo-chatbot-auth (secret)") for line in out)
    assert f"  image {BACKEND}: built from workloads/backend/Dockerfile" in out
    assert f"  image {FRONTEND}: built from workloads/frontend/Dockerfile" in out
    steps = out[out.index("steps:") + 1:]
    assert [line.split("]")[0].split("[")[1] for line in steps] == STEPS
    assert calls(fake_path) == []


# --- PostgreSQL, Envoy Gateway ----------------------------------------------------------------------------


INSPECT = {"Config": {"Image": "postgres:17.10-alpine",
                      "Env": ["POSTGRES_USER=todo", "POSTGRES_PASSWORD=abc=def", "POSTGRES_DB=todo", "PATH=/bin"]},
           "State": {"Running": True},
           "NetworkSettings": {"Networks": {"kind": {"IPAddress": "172.18.0.9"}}}}


def test_the_database_address_and_password_are_read_back_from_the_container() -> None:
    db = steps.database_of(json.loads(json.dumps(INSPECT)), Pins.load().postgres)
    assert db == local_secrets.Database("172.18.0.9", 5432, "todo", "abc=def", "todo")
    assert db.url == "postgresql://todo:abc%3Ddef@172.18.0.9:5432/todo?sslmode=disable"


def test_a_container_off_the_kind_network_is_named() -> None:
    state = {**INSPECT, "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}}
    with pytest.raises(Unready, match="todo-chatbot-postgres has no address on the Docker network kind"):
        steps.database_of(state, Pins.load().postgres)


def test_envoy_gateway_is_installed_from_the_pinned_chart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "path", lambda name: Path(f"/pinned/{name}"))
    argv = steps.envoy_gateway_argv(context())
    assert argv[:4] == ["/pinned/helm", "upgrade", "eg", "oci://docker.io/envoyproxy/gateway-helm"]
    assert argv[argv.index("--version") + 1] == Pins.load().gateway["version"]
    assert argv[argv.index("--namespace") + 1] == "envoy-gateway-system"
    assert argv[argv.index("--kube-context") + 1] == "kind-todo-chatbot"
    assert "--install" in argv and "--create-namespace" in argv


def test_the_gateway_class_is_the_one_the_app_gateway_names() -> None:

    from todo_cloud import envs

    values = yamlfile.load(envs.get("local").values_file)
    assert steps.gateway_class(Pins.load()) == {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
        "metadata": {"name": values["app"]["exposure"]["gateway"]["className"]},
        "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}}
