"""`todo-cloud images pin`: every upstream image that runs has a values key pinning it by digest
(config/image-pins.yaml), the digests come from a real registry (the CNCF distribution registry on loopback,
standing in as a mirror that holds the images under their full names), the values file keeps its comments and
layout, and nothing is written when one image cannot be resolved or has no key."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import urllib.request
from pathlib import Path

import pytest
import yaml

from todo_cloud import envs, yamlfile
from todo_cloud.cli import main
from todo_cloud.deploy import preflight
from todo_cloud.deploy.secrets import our_charts
from todo_cloud.manifests import split_image
from todo_cloud.paths import UMBRELLA
from todo_cloud.release import oci, pins
from todo_cloud.render import find, get, lookup, render_chart

MISSING = "docker.io/grafana/loki"


def synthetic_digest(repository: str, tag: str) -> str:
    """A stable stand-in digest of an image, for the tests that need no registry."""
    return "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()


def _values(env: str, tree: dict, tmp: Path) -> list:
    path = tmp / f"{env}-pinned.yaml"
    path.write_text(yaml.safe_dump(tree))
    e = envs.get(env)
    layers = [f for f in e.values_files if f != e.values_file]  # the profile's layer, if any
    return render_chart(UMBRELLA, [*layers, path], release=e.release, namespace=e.namespace)


def _pinned_tree(env: str) -> tuple[pins.PinPlan, dict]:
    plan = pins.plan(env, synthetic_digest)
    tree = yamlfile.load(envs.get(env).values_file)
    for key, value in plan.pins.items():
        pins._set(tree, key, value)
    return plan, tree


@pytest.mark.upstream
@pytest.mark.parametrize("env", envs.names())
def test_every_upstream_image_that_runs_has_a_pin(upstream_charts, env: str, tmp_path: Path) -> None:
    del upstream_charts
    plan, tree = _pinned_tree(env)
    docs = _values(env, tree, tmp_path)
    config = pins.load()
    assert pins.upstream_by_tag(docs, config) == {}
    running = {split_image(image)["repository"] for image in pins.running_images(docs, config)}
    assert set(plan.pins) == {p.key for repository, entries in config.images.items() if repository in running
                              for p in entries}, "an image that runs here is not pinned by all its keys"
    digest = synthetic_digest
    prometheus = get(docs, "Prometheus", "todo-chatbot-kube-promethe-prometheus")["spec"]["image"]
    assert prometheus.endswith("@" + digest("quay.io/prometheus/prometheus", "v3.14.0-distroless"))
    kafka = find(docs, "Kafka")[0]["spec"]
    kafka_image = f"quay.io/strimzi/kafka:1.2.0-kafka-{kafka['kafka']['version']}"
    assert kafka["kafka"]["image"] == f"{kafka_image}@{digest(*kafka_image.split(':'))}"
    injector = get(docs, "Deployment", "dapr-sidecar-injector")["spec"]["template"]["spec"]["containers"][0]
    sidecar = {v["name"]: v.get("value") for v in injector["env"]}["SIDECAR_IMAGE"]
    assert sidecar == f"ghcr.io/dapr/daprd:1.18.3@{digest('ghcr.io/dapr/daprd', '1.18.3')}"


@pytest.mark.upstream
def test_every_pin_key_pins_an_image_that_runs_in_some_environment(upstream_charts) -> None:
    """Some images run in some environments only (the dump job not in local, Kafka UI only in local)."""
    del upstream_charts
    pinned = {key for env in envs.names() for key in pins.plan(env, synthetic_digest).pins}
    assert pinned == set(pins.load().keys), "a key of config/image-pins.yaml pins no running image"


@pytest.mark.upstream
def test_with_its_pins_production_runs_no_image_by_tag(upstream_charts, tmp_path: Path) -> None:
    """App images included: production's are digests (deploy --image), so CKV_TODO_K8S_1 holds everywhere."""
    del upstream_charts
    _plan, tree = _pinned_tree("production")
    running = pins.running_images(_values("production", tree, tmp_path), pins.load())
    by_tag = sorted(i for i in running if not pins.DIGESTED.search(i))
    assert by_tag == []
    assert len(running) >= 20


# --- against a registry -----------------------------------------------------------------------------------


def _push(registry: str, name: str, tag: str) -> str:
    """A minimal OCI image (a config and one empty layer) as name:tag; returns its manifest digest."""
    def blob(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = urllib.request.Request(f"http://{registry}/v2/{name}/blobs/uploads/", method="POST")
        with urllib.request.urlopen(start, timeout=10) as answer:
            location = answer.headers["Location"]
        sep = "&" if "?" in location else "?"
        url = location if location.startswith("http") else f"http://{registry}{location}"
        put = urllib.request.Request(f"{url}{sep}digest={digest}", data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(put, timeout=10).close()
        return {"digest": digest, "size": len(data)}

    config = blob(json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-11-26T00:00:00Z",
                              "config": {"Labels": {"image": f"{name}:{tag}"}},
                              "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    layer = blob(b"")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}],
    }).encode()
    put = urllib.request.Request(f"http://{registry}/v2/{name}/manifests/{tag}", data=manifest, method="PUT",
                                 headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(put, timeout=10) as answer:
        assert answer.headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(manifest).hexdigest()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


@pytest.mark.upstream
def test_every_key_of_the_pin_file_pins_an_image_that_runs_somewhere(upstream_charts) -> None:
    del upstream_charts
    used = set().union(*(pins.plan(env, synthetic_digest).pins for env in envs.names()))
    assert used == set(pins.load().keys), "a key of config/image-pins.yaml pins no image of any environment"


@pytest.fixture(scope="module")
def mirror(upstream_charts, local_registry: str) -> tuple[str, dict[str, str]]:
    """The local registry as a mirror of production's upstream images: `full` holds all of them, `partial`
    all but Loki. Yields the mirror URL and image -> digest."""
    del upstream_charts
    images = pins.plan("production", synthetic_digest).resolved
    digests = {}
    for image in images:
        repository, tag = image.rsplit(":", 1)
        digests[image] = _push(local_registry, _mirror_path("full", repository), tag)
        if repository != MISSING:
            _push(local_registry, _mirror_path("partial", repository), tag)
    return f"http://{local_registry}", digests


def _mirror_path(prefix: str, repository: str) -> str:
    """Where a mirror under `prefix` holds an image (its full name: registry, then path)."""
    return oci.locate(repository, f"http://mirror/{prefix}").path


@pytest.mark.upstream
def test_pin_writes_the_registrys_digests_and_keeps_the_file_layout(mirror, tmp_path: Path) -> None:
    url, digests = mirror
    original = envs.get("production").values_file
    copy = tmp_path / "production.yaml"
    shutil.copy(original, copy)
    plan = pins.plan("production", functools.partial(oci.resolve, mirror=f"{url}/full"), values_file=copy)
    pins.write(plan, copy)
    written = yamlfile.load(copy)
    assert lookup(written, ["kube-prometheus-stack", "prometheus", "prometheusSpec", "image", "sha"]) == \
        digests["quay.io/prometheus/prometheus:v3.14.0-distroless"].removeprefix("sha256:")
    assert lookup(written, ["dapr", "dapr_sidecar_injector", "image", "name"]) == \
        f"ghcr.io/dapr/daprd:1.18.3@{digests['ghcr.io/dapr/daprd:1.18.3']}"
    assert lookup(written, ["strimzi-kafka-operator", "userOperator", "image", "digest"]) == \
        digests["quay.io/strimzi/operator:1.2.0"]
    before, after = original.read_text().splitlines(), copy.read_text().splitlines()
    # Lines holding a pin the file had already (placeholders, stale digests) are rewritten in place.
    rewritten = [str(v) for v in plan.current.values()]
    kept = iter(after)
    assert all(any(line == other for other in kept) for line in before if not any(v in line for v in rewritten)), (
        "a line of the values file was lost")
    assert len(after) - len(before) >= len(plan.pins) - len(plan.current)
    assert not any(v in line for v in rewritten for line in after if v not in plan.pins.values())
    again = pins.plan("production", functools.partial(oci.resolve, mirror=f"{url}/full"), values_file=copy)
    assert again.changes == {}


@pytest.mark.upstream
def test_pin_check_lists_each_missing_pin_and_writes_nothing(mirror, capsys) -> None:
    url, _digests = mirror
    before = envs.get("production").values_file.read_text()
    code = main(["images", "pin", "--env", "production", "--check", "--mirror", f"{url}/full"])
    out = capsys.readouterr()
    assert code == 1
    assert "kube-prometheus-stack.prometheus.prometheusSpec.image.sha: (unset) -> " in out.out
    assert "platform.kafka.image: (unset) -> quay.io/strimzi/kafka:1.2.0-kafka-4.3.1@sha256:" in out.out
    assert "are not current; run `todo-cloud images pin --env production`" in out.err
    assert envs.get("production").values_file.read_text() == before


@pytest.mark.upstream
def test_a_stale_pin_is_reported_with_its_old_and_new_digest(mirror, tmp_path: Path) -> None:
    url, digests = mirror
    copy = tmp_path / "production.yaml"
    shutil.copy(envs.get("production").values_file, copy)
    resolve = functools.partial(oci.resolve, mirror=f"{url}/full")
    pins.write(pins.plan("production", resolve, values_file=copy), copy)
    text = copy.read_text()
    current = digests["quay.io/strimzi/operator:1.2.0"]
    copy.write_text(text.replace(current, "sha256:" + "0" * 64))
    changes = pins.plan("production", resolve, values_file=copy).changes
    assert changes["strimzi-kafka-operator.image.digest"] == ("sha256:" + "0" * 64, current)


@pytest.mark.upstream
def test_an_image_the_registry_lacks_stops_the_pin_and_names_it(mirror, capsys) -> None:
    url, _digests = mirror
    before = envs.get("production").values_file.read_text()
    code = main(["images", "pin", "--env", "production", "--mirror", f"{url}/partial"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{MISSING}:3.7.6: no such tag at {url}/v2/partial/{MISSING}/manifests/3.7.6" in err
    assert envs.get("production").values_file.read_text() == before


@pytest.mark.upstream
def test_a_running_image_without_a_pin_entry_is_named(upstream_charts) -> None:
    del upstream_charts
    config = pins.load()
    del config.images[MISSING]
    with pytest.raises(pins.PinError) as failure:
        pins.plan("production", synthetic_digest, config=config)
    assert (f"{MISSING}:3.7.6 (run by StatefulSet/todo-chatbot/todo-chatbot-loki) has no entry in "
            "config/image-pins.yaml") in str(failure.value)


def test_an_unreachable_registry_names_the_image_and_the_url() -> None:
    with pytest.raises(oci.RegistryError, match=r"^quay.io/strimzi/operator:1.2.0: registry unreachable "
                                                  r"\(http://127.0.0.1:9/v2/quay.io/strimzi/operator/manifests/"):
        oci.resolve("quay.io/strimzi/operator", "1.2.0", mirror="http://127.0.0.1:9")


@pytest.mark.parametrize(("repository", "base", "path"), [
    ("jaegertracing/jaeger", "https://registry-1.docker.io", "jaegertracing/jaeger"),
    ("busybox", "https://registry-1.docker.io", "library/busybox"),
    ("docker.io/grafana/loki", "https://registry-1.docker.io", "grafana/loki"),
    ("quay.io/strimzi/operator", "https://quay.io", "strimzi/operator"),
    ("localhost:5000/team/app", "https://localhost:5000", "team/app"),
])
def test_image_names_follow_dockers_rules(repository: str, base: str, path: str) -> None:
    assert oci.locate(repository) == oci.Location(base, path)


def test_a_mirror_holds_images_under_their_full_names() -> None:
    assert oci.locate("busybox", "https://mirror.example:5000/upstream") == \
        oci.Location("https://mirror.example:5000", "upstream/docker.io/library/busybox")
    with pytest.raises(oci.RegistryError, match="--mirror ftp://m: expected https://"):
        oci.locate("busybox", "ftp://m")


def test_a_bearer_challenge_is_parsed_into_realm_service_and_scope() -> None:
    header = 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'
    assert oci.parse_challenge(header) == {"realm": "https://auth.example/token", "service": "registry.example",
                                           "scope": "repository:a/b:pull"}
    assert oci.parse_challenge('Basic realm="x"') == {}


# --- the deploy preflight refuses production until it is pinned ----------------------------------------------


@pytest.mark.upstream
def test_production_as_committed_is_refused_for_every_image_not_pinned_by_a_real_digest() -> None:
    env = envs.get("production")
    docs = render_chart(UMBRELLA, list(env.values_files), release=env.release, namespace=env.namespace)
    problems = preflight.check_digests(env, docs, our_charts())
    refused = {p.split("'")[1] for p in problems if p.startswith("upstream image ")}
    assert refused == set(pins.upstream_by_tag(docs, pins.load(), env.namespace))
    placeholders = {p.split("'")[1] for p in problems if "placeholder digest" in p}
    assert placeholders == {image for image in pins.running_images(docs, pins.load(), env.namespace)
                            if re.search(r"@sha256:0{48}", image)}
    committed = re.findall(r"sha256:(0{48}[0-9a-f]{16})", env.values_file.read_text())
    assert len(placeholders) == len(committed), "each placeholder of values/production.yaml is named"


@pytest.mark.upstream
def test_production_with_its_pins_and_promoted_digests_passes_the_digest_check(tmp_path: Path) -> None:
    env = envs.get("production")
    _, tree = _pinned_tree("production")
    for component in tree["app"]["components"].values():
        if "digest" in component.get("image", {}):
            component["image"]["digest"] = synthetic_digest("promoted", str(component))
    docs = _values("production", tree, tmp_path)
    assert preflight.check_digests(env, docs, our_charts()) == []
