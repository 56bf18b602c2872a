"""The reference images of workloads/ in the delivery pipeline (todo_cloud.release.images, `todo-cloud images
build | check | push`): what is built and how it is run before it ships, the digests recorded once and served
unchanged by every registry it is pushed to (a real registry on loopback), and the deploy's `--image` taking
them. Building needs Docker, which this machine has not: the build and check commands are checked as commands,
and the archive a build writes is made here in the same OCI image layout."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from todo_cloud import envs, versions, workloads, yamlfile
from todo_cloud.cli import main
from todo_cloud.deploy.images import image_values
from todo_cloud.manifests import containers
from todo_cloud.paths import CHARTS
from todo_cloud.release import images, oci

APP_DEFAULTS = yamlfile.load(CHARTS / "app" / "values.yaml")
BY_SERVICE = {i.service: i for i in images.images()}


def test_the_images_are_the_services_of_the_contract_each_with_its_dockerfile() -> None:
    assert {s: (i.repository, i.port, i.health) for s, i in BY_SERVICE.items()} == {
        "backend": ("todo-chatbot-backend", 8000, "/health"),
        "analytics": ("todo-chatbot-analytics", 8000, "/health"),
        "frontend": ("todo-chatbot-frontend", 3000, "/api/health")}
    assert all(i.dockerfile.is_file() for i in BY_SERVICE.values())


@pytest.mark.parametrize("service", ["backend", "frontend"])
def test_the_repository_of_a_chart_component_is_the_one_the_chart_pulls(service: str) -> None:
    assert APP_DEFAULTS["components"][service]["image"]["repository"] == BY_SERVICE[service].repository


def test_the_registry_pushed_to_is_the_one_the_environments_pods_pull_from(release, env_name: str) -> None:  # type: ignore[no-untyped-def]
    backend = next(o for o in release if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-backend"))
    [app] = [c for c in containers(backend) if c["name"] == "backend"]
    assert app["image"].startswith(f"{images.registry(env_name)}/todo-chatbot-backend:"), app["image"]


def test_one_build_writes_the_archive_that_is_pushed_and_the_image_that_is_checked(tmp_path: Path) -> None:
    cmd = images.build_command(BY_SERVICE["backend"], tmp_path, "abc123")
    outputs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--output"]
    assert outputs == [f"type=oci,dest={tmp_path}/backend.oci.tar,name=todo-chatbot-backend:abc123",
                       "type=docker,name=todo-chatbot-backend:abc123"]
    assert cmd[:3] == ["docker", "buildx", "build"] and cmd[-1] == str(images.WORKLOADS)
    assert cmd[cmd.index("--file") + 1] == str(images.WORKLOADS / "backend" / "Dockerfile")
    assert {"--provenance=false", "--sbom=false"} <= set(cmd), "attestations would make the archive an index"


@pytest.mark.parametrize("service", sorted(BY_SERVICE))
def test_the_check_runs_the_image_as_the_chart_runs_it(service: str, tmp_path: Path) -> None:
    start, health, remove = images.check_commands(BY_SERVICE[service], "abc123", tmp_path)
    security = APP_DEFAULTS["defaults"]["securityContext"]
    assert start[start.index("--user") + 1] == f"{security['runAsUser']}:{security['runAsGroup']}"
    assert {"--read-only", "--detach"} <= set(start) and start[start.index("--tmpfs") + 1] == "/tmp"
    assert start[start.index("--cap-drop") + 1] == "ALL" and start[-1] == f"todo-chatbot-{service}:abc123"
    assert health[-1] == remove[-1] == f"todo-check-{service}"


def test_the_backend_gets_the_database_url_file_it_needs_to_start(tmp_path: Path) -> None:
    backend = BY_SERVICE["backend"]
    images.startup_files(backend, tmp_path)
    start, _, _ = images.check_commands(backend, "t", tmp_path)
    assert "DATABASE_URL_FILE=/run/secrets/DATABASE_URL_FILE" in start
    assert f"{tmp_path}/DATABASE_URL_FILE:/run/secrets/DATABASE_URL_FILE:ro" in start
    assert (tmp_path / "DATABASE_URL_FILE").read_text().startswith("postgresql://")
    assert (tmp_path / "DATABASE_URL_FILE").stat().st_mode & 0o004, "the image's user must read it"


def test_without_a_docker_engine_build_says_where_images_are_built(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["images", "build", "--out", str(tmp_path)]) == 1
    assert ".github/workflows/images.yml" in capsys.readouterr().err


# --- the archive, its record and the push -------------------------------------------------------------------


def oci_archive(path: Path, text: str, *, index: bool = False) -> str:
    """An OCI image layout tar as buildx writes it (one image; `index`: wrapped in an image index); its digest."""
    blobs: dict[str, bytes] = {}

    def add(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        info = tarfile.TarInfo("app/hello.txt")
        info.size = len(text.encode())
        tar.addfile(info, io.BytesIO(text.encode()))
    layer = add(gzip.compress(layer_tar.getvalue(), mtime=0))
    config = add(json.dumps({"architecture": "amd64", "os": "linux", "config": {"User": "10001:10001"},
                             "rootfs": {"type": "layers", "diff_ids": [
                                 "sha256:" + hashlib.sha256(layer_tar.getvalue()).hexdigest()]}}).encode())
    manifest_type = "application/vnd.oci.image.manifest.v1+json"
    top = {"mediaType": manifest_type, **add(json.dumps({
        "schemaVersion": 2, "mediaType": manifest_type,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}).encode())}
    if index:
        index_type = "application/vnd.oci.image.index.v1+json"
        top = {"mediaType": index_type, **add(json.dumps({
            "schemaVersion": 2, "mediaType": index_type,
            "manifests": [{**top, "platform": {"architecture": "amd64", "os": "linux"}}]}).encode())}
    files = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
             "index.json": json.dumps({"schemaVersion": 2, "manifests": [top]}).encode(),
             **{"blobs/" + d.replace(":", "/"): data for d, data in blobs.items()}}
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return top["digest"]


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """What `images build --out DIR --tag abc123` leaves: an archive per service and images.json."""
    out = tmp_path / "images"
    out.mkdir()
    digests = {i.service: oci_archive(images.archive_path(out, i), f"{i.service} 1", index=i.service == "frontend")
               for i in images.images()}
    images.record(out, "abc123")
    return out, digests


def test_the_record_holds_each_archives_digest(built: tuple[Path, dict[str, str]]) -> None:
    out, digests = built
    entries = images.load_record(out)
    assert {s: e["digest"] for s, e in entries.items()} == digests
    assert entries["backend"] == {"repository": "todo-chatbot-backend", "tag": "abc123",
                                  "digest": digests["backend"], "archive": "backend.oci.tar"}


def test_the_deploy_takes_the_digests_of_the_chart_components_only(built: tuple[Path, dict[str, str]]) -> None:
    out, digests = built
    recorded = images.load_record(out)
    # an image of the record that is no component of the app chart (a tool image, say) is not deployed
    recorded["loadgen"] = {**recorded["backend"], "repository": "todo-chatbot-loadgen", "digest": "sha256:" + "e" * 64}
    arguments = images.deploy_arguments(recorded)
    components = ("analytics", "backend", "frontend")
    assert arguments == [f"{c}={digests[c]}" for c in components]
    overlay = image_values(envs.get("production"), arguments)
    assert overlay == {"app": {"components": {c: {"image": {"digest": digests[c]}} for c in components}}}


def _registry_get(url: str) -> tuple[str | None, bytes]:
    request = urllib.request.Request(url, headers={"Accept": oci.MANIFEST_TYPES})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.headers.get("Docker-Content-Digest"), answer.read()


@pytest.mark.parametrize("registry_prefix", ["staging-registry", "production-registry"])
def test_a_push_is_served_at_the_recorded_digest_in_every_registry(
        built: tuple[Path, dict[str, str]], local_registry: str, monkeypatch: pytest.MonkeyPatch,
        capsys, registry_prefix: str) -> None:  # type: ignore[no-untyped-def]
    out, digests = built
    monkeypatch.setattr(images, "registry", lambda env: f"{local_registry}/{registry_prefix}")
    assert main(["images", "push", "--out", str(out), "--env", "staging"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{s}: {local_registry}/{registry_prefix}/todo-chatbot-{s}@{digests[s]}"
                       for s in sorted(digests)]
    for service, digest in digests.items():
        repository = f"{registry_prefix}/todo-chatbot-{service}"
        served, body = _registry_get(f"http://{local_registry}/v2/{repository}/manifests/abc123")
        assert served == digest == "sha256:" + hashlib.sha256(body).hexdigest()
        manifest = json.loads(body)
        for child in manifest.get("manifests", []):  # the frontend's index: its image is there by digest
            assert _registry_get(f"http://{local_registry}/v2/{repository}/manifests/{child['digest']}")[0] \
                == child["digest"]


def test_pushing_again_changes_nothing(built: tuple[Path, dict[str, str]], local_registry: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out, digests = built
    monkeypatch.setattr(images, "registry", lambda env: f"{local_registry}/again")
    first = images.push(out, "staging")
    assert images.push(out, "staging") == first
    assert first["backend"].endswith(f"@{digests['backend']}")


def test_an_archive_that_is_not_the_recorded_one_is_refused_before_any_push(
        built: tuple[Path, dict[str, str]], local_registry: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out, digests = built
    oci_archive(out / "backend.oci.tar", "backend 2")  # rebuilt after the record
    monkeypatch.setattr(images, "registry", lambda env: f"{local_registry}/tampered")
    with pytest.raises(images.ImagesError, match=rf"backend: backend\.oci\.tar holds sha256:\w+, but images\.json "
                                                 rf"records {digests['backend']}"):
        images.push(out, "staging")


def test_an_archive_with_a_corrupt_blob_is_named(tmp_path: Path) -> None:
    path = tmp_path / "backend.oci.tar"
    oci_archive(path, "backend 1")
    with tarfile.open(path) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    layer = next(n for n, d in files.items() if n.startswith("blobs/") and d[:2] == b"\x1f\x8b")
    files[layer] = gzip.compress(b"something else", mtime=0)
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(oci.ArchiveError, match=rf"blob {layer.removeprefix('blobs/').replace('/', ':')} does not "
                                               "hash to its digest"):
        oci.push_archive(oci.ImageArchive(path), "127.0.0.1:1/x", "t")  # refused before any connection


@pytest.mark.parametrize(("index", "error"), [
    ({"manifests": []}, "index.json lists 0 manifests, expected the one image"),
    ({"manifests": [{"mediaType": "application/vnd.in-toto+json", "digest": "sha256:" + "0" * 64}]},
     "index.json points at a 'application/vnd.in-toto+json', not an image"),
])
def test_an_archive_that_is_not_one_image_is_refused(tmp_path: Path, index: dict, error: str) -> None:
    path = tmp_path / "x.tar"
    with tarfile.open(path, "w") as tar:
        data = json.dumps(index).encode()
        info = tarfile.TarInfo("index.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(oci.ArchiveError, match=re.escape(error)):
        oci.ImageArchive(path)


# --- credentials: a registry that asks for a token ----------------------------------------------------------


class _TokenRealm(BaseHTTPRequestHandler):
    """A registry that wants a Bearer token, and its token service: the token is given for the credentials
    `todo:s3cret` only; every request is recorded."""

    seen: ClassVar[list[tuple[str, str, str]]] = []

    def log_message(self, *args: object) -> None:
        del args

    def do_GET(self) -> None:
        self.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
        host = f"http://{self.headers['Host']}"
        if self.path.startswith("/token"):
            ok = self.headers.get("Authorization") == "Basic dG9kbzpzM2NyZXQ="
            self._answer(200 if ok else 401, json.dumps({"token": "t0ken"}).encode() if ok else b"")
        elif self.headers.get("Authorization") != "Bearer t0ken":
            self._answer(401, b"", {"WWW-Authenticate": f'Bearer realm="{host}/token",service="reg",'
                                                        'scope="repository:team/app:pull"'})
        else:
            self._answer(404, b"")

    do_HEAD = do_GET

    def _answer(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.fixture
def token_registry() -> Iterator[str]:
    _TokenRealm.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenRealm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_token_is_asked_for_with_the_credentials_for_pull_and_push(token_registry: str) -> None:
    client = oci._Client(f"{token_registry}/team/app", oci.Credentials("todo", "s3cret"))
    status, _, _ = client.call("HEAD", client.url("blobs/sha256:" + "1" * 64))
    assert status == 404  # answered with the token: the blob is simply not there
    token_request = next(s for s in _TokenRealm.seen if s[1].startswith("/token"))
    assert "scope=repository%3Ateam%2Fapp%3Apull%2Cpush" in token_request[1] and "service=reg" in token_request[1]
    assert token_request[2] == "Basic dG9kbzpzM2NyZXQ="
    assert _TokenRealm.seen[-1][2] == "Bearer t0ken"


def test_wrong_credentials_name_the_repository(token_registry: str) -> None:
    client = oci._Client(f"{token_registry}/team/app", oci.Credentials("todo", "wrong"))
    with pytest.raises(oci.RegistryError, match=rf"{token_registry}/team/app: no token from http://"):
        client.call("HEAD", client.url("blobs/sha256:" + "1" * 64))


@pytest.mark.parametrize("service", sorted(BY_SERVICE))
def test_the_images_run_the_python_minor_of_versions_toml(service: str) -> None:
    minor = str(versions.load()["python"]["version"])
    bases = re.findall(r"^FROM python:(\d+\.\d+)\.\d+-", BY_SERVICE[service].dockerfile.read_text(), re.MULTILINE)
    assert bases and set(bases) == {minor}, f"{service}: FROM python:{bases} in its Dockerfile, [python] is {minor}"


def test_the_pipeline_builds_every_workload_make_up_builds_from_the_same_dockerfile() -> None:
    assert sorted(BY_SERVICE) == workloads.names()
    for service, image in BY_SERVICE.items():
        local = workloads.build_argv(service, "x")
        release = images.build_command(image, Path("/out"), "t")
        assert local[local.index("--file") + 1] == release[release.index("--file") + 1]
        assert local[-1] == release[-1] == str(workloads.WORKLOADS)
