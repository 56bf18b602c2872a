"""`todo-cloud publish`, FOR REAL against a local OCI registry (the CNCF distribution registry, built
from the Go module proxy as versions.toml [go_tools.registry]) started by the test on 127.0.0.1: push,
pull by version and by digest, the pulled chart renders the release as the source tree does, and
publishing the same version again is refused."""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from todo_cloud import envs, tools, yamlfile
from todo_cloud.cli import main
from todo_cloud.paths import UMBRELLA
from todo_cloud.release.publish import PublishError, publish
from todo_cloud.render import render_chart, render_environment
from todo_cloud.run import run

VERSION = str(yamlfile.load(UMBRELLA / "Chart.yaml")["version"])


@pytest.fixture(scope="module")
def registry(local_registry: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local registry's oci:// charts ref, with helm's registry config kept in a temp folder."""
    saved = os.environ.get("HELM_REGISTRY_CONFIG")
    os.environ["HELM_REGISTRY_CONFIG"] = str(tmp_path_factory.mktemp("helm") / "helm-registry.json")
    try:
        yield f"oci://{local_registry}/charts"
    finally:
        if saved is None:
            os.environ.pop("HELM_REGISTRY_CONFIG", None)
        else:
            os.environ["HELM_REGISTRY_CONFIG"] = saved


@pytest.fixture(scope="module")
def published(upstream_charts, registry: str) -> tuple[str, str]:
    """The umbrella published once to the registry: (the CLI's output line, the digest)."""
    del upstream_charts
    result = publish(registry)
    return result.ref, result.digest


def _pull(ref: str, dest: Path, *extra: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    run([tools.path("helm"), "pull", ref, "--plain-http", "--destination", dest, *extra], timeout=300)
    (archive,) = dest.glob("*.tgz")
    return archive


def _chart_yaml(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("todo-chatbot-cloud/Chart.yaml")
        assert member is not None
        return yaml.safe_load(member.read())


def test_publish_pushes_the_version_of_chart_yaml(published, registry):
    ref, digest = published
    assert ref == f"{registry}/todo-chatbot-cloud:{VERSION}"
    assert digest.startswith("sha256:") and len(digest) == 71


def test_published_chart_pulls_by_version(published, registry, tmp_path):
    del published
    archive = _pull(f"{registry}/todo-chatbot-cloud", tmp_path, "--version", VERSION)
    assert archive.name == f"todo-chatbot-cloud-{VERSION}.tgz"
    assert _chart_yaml(archive)["version"] == VERSION


def test_published_chart_pulls_by_digest_with_the_same_content(published, registry, tmp_path):
    _, digest = published
    by_digest = _pull(f"{registry}/todo-chatbot-cloud@{digest}", tmp_path / "d")
    by_version = _pull(f"{registry}/todo-chatbot-cloud", tmp_path / "v", "--version", VERSION)
    assert by_digest.read_bytes() == by_version.read_bytes()


def test_published_chart_carries_every_dependency(published, registry, tmp_path):
    del published
    archive = _pull(f"{registry}/todo-chatbot-cloud", tmp_path, "--version", VERSION)
    with tarfile.open(archive) as tar:
        bundled = {Path(n).parts[2] for n in tar.getnames() if n.startswith("todo-chatbot-cloud/charts/")
                   and len(Path(n).parts) > 2}
    wanted = {d["name"] for d in _chart_yaml(archive)["dependencies"]}
    assert wanted <= {b.removesuffix(".tgz").rsplit("-", 1)[0] if b.endswith(".tgz") else b for b in bundled}


@pytest.fixture(scope="module")
def pulled_chart(published, registry, tmp_path_factory) -> Path:
    del published
    dest = tmp_path_factory.mktemp("pulled")
    archive = _pull(f"{registry}/todo-chatbot-cloud", dest, "--version", VERSION)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "todo-chatbot-cloud"


# Values Helm generates at random on every render (passwords, self-signed webhook CAs) and what hashes them.
RANDOM_KEYS = ("data", "stringData", "caBundle", "ca.crt", "tls.crt", "tls.key")


def _without_random_values(node: Any) -> Any:
    if isinstance(node, list):
        return [_without_random_values(n) for n in node]
    if isinstance(node, dict):
        return {k: _without_random_values(v) for k, v in node.items()
                if k not in RANDOM_KEYS and not str(k).startswith("checksum/")}
    return node


def test_pulled_chart_renders_the_same_manifests_as_the_source_tree(pulled_chart):
    """One environment (production) is rendered from the pulled chart: the values files are not part of the
    chart, so the chart's identity is what is proven; random values (passwords, CAs) are masked."""
    e = envs.get("production")
    pulled = render_chart(pulled_chart, e.values_files, release=e.release, namespace=e.namespace)
    source = render_environment("production")
    assert [(d["kind"], d["metadata"]["name"]) for d in pulled] == [(d["kind"], d["metadata"]["name"]) for d in source]
    assert _without_random_values(pulled) == _without_random_values(source)


def test_publishing_a_published_version_again_is_refused(published, registry, capsys):
    del published
    assert main(["publish", "--registry", registry]) == 1
    err = capsys.readouterr().err
    assert f"todo-chatbot-cloud {VERSION} is already published in {registry}" in err
    assert "bump `version`" in err


# --- refusals that need no registry -----------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["https://registry.digitalocean.com/x", "registry.digitalocean.com/x", "oci://"])
def test_a_registry_that_is_not_an_oci_reference_is_refused(ref, capsys):
    assert main(["publish", "--registry", ref]) == 1
    assert f"--registry: {ref!r} is not an OCI registry reference" in capsys.readouterr().err


def test_a_chart_with_missing_dependencies_is_refused_naming_them(tmp_path):
    chart = tmp_path / "todo-chatbot-cloud"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(yaml.safe_dump({
        "apiVersion": "v2", "name": "todo-chatbot-cloud", "version": "9.9.9",
        "dependencies": [{"name": "dapr", "version": "1.18.3", "repository": "https://example.invalid"}]}))
    with pytest.raises(PublishError, match=r"dependencies missing .*: dapr 1\.18\.3; run `make deps`"):
        publish("oci://127.0.0.1:1/charts", chart=chart)


def test_an_unreachable_registry_is_an_error_not_a_blind_push(upstream_charts):
    del upstream_charts
    with pytest.raises(PublishError, match=r"cannot tell whether todo-chatbot-cloud .* is in oci://127\.0\.0\.1:1"):
        publish("oci://127.0.0.1:1/charts")
