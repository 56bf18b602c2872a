"""What the deploy derives before it talks to a cluster: the Secrets a release needs, the CRD bundle of
the pinned chart archives, the rollout targets, and its options."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tests.delivery.recorded import obj, pod
from todo_cloud import crds
from todo_cloud.deploy import plan as planning
from todo_cloud.deploy.secrets import our_charts, required_secrets, strings_in
from todo_cloud.deploy.state import Revision, last_good_revision
from todo_cloud.render import find

NS = "todo-chatbot"


def names(docs: list, charts: set[str] = frozenset({"app", "platform"})) -> list[str]:  # type: ignore[assignment]
    return [r.ref.name for r in required_secrets(docs, NS, set(charts))]


# --- required Secrets -----------------------------------------------------------------------------------


def test_secret_references_of_every_shape_are_required():
    deployment = obj("Deployment", "backend", "app-0.1.0", **pod("x", pull_secret="pull", env_secret="db"))
    spec = deployment["spec"]["template"]["spec"]
    spec["containers"][0]["envFrom"] = [{"secretRef": {"name": "env-all"}}]
    spec["volumes"] = [{"name": "tls", "secret": {"secretName": "tls-volume"}},
                       {"name": "p", "projected": {"sources": [{"secret": {"name": "projected"}}]}}]
    component = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component",
                 "metadata": {"name": "statestore", "labels": {"helm.sh/chart": "platform-0.1.0"}},
                 "spec": {"metadata": [{"name": "connectionString",
                                        "secretKeyRef": {"name": "postgres", "key": "dsn"}}]}}
    gateway = obj("Gateway", "web", "app-0.1.0", listeners=[{"tls": {"certificateRefs": [{"name": "web-tls"}]}}])
    loki = obj("ConfigMap", "loki-settings", "platform-0.1.0", existingSecret="spaces")
    assert names([deployment, component, gateway, loki]) == sorted(
        ["pull", "db", "env-all", "tls-volume", "projected", "postgres", "web-tls", "spaces"])


def test_optional_secret_references_are_not_required():
    deployment = obj("Deployment", "backend", "app-0.1.0", **pod("x"))
    spec = deployment["spec"]["template"]["spec"]
    spec["containers"][0]["env"] = [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "a", "key": "k",
                                                                                 "optional": True}}}]
    spec["volumes"] = [{"name": "v", "secret": {"secretName": "b", "optional": True}}]
    assert names([deployment]) == []


def test_secrets_the_release_creates_are_not_required():
    user = obj("Deployment", "backend", "app-0.1.0", **pod("x", env_secret="backend-user"))
    user["spec"]["template"]["spec"]["volumes"] = [
        {"name": a, "secret": {"secretName": a}} for a in ("own", "web-tls", "todo-chatbot-kafka-cluster-ca-cert")]
    created = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "own", "namespace": NS}},
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "web"},
         "spec": {"secretName": "web-tls"}},
        {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser", "metadata": {"name": "backend-user"}},
        {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka", "metadata": {"name": "todo-chatbot-kafka"}},
    ]
    assert names([user, *created]) == []


def test_upstream_charts_references_are_left_to_their_own_hooks_and_operators():
    upstream = obj("Deployment", "operator", "kube-prometheus-stack-88.5.3", **pod("x", env_secret="admission"))
    ours = obj("Deployment", "backend", "app-0.1.0", **pod("x", env_secret="db"))
    assert names([upstream, ours]) == ["db"]


def test_upstream_references_count_when_our_values_name_the_secret():
    loki = obj("StatefulSet", "loki", "loki-18.11.0", **pod("x", env_secret="todo-chatbot-loki-spaces"))
    hooked = obj("Deployment", "operator", "kube-prometheus-stack-88.5.3", **pod("x", env_secret="admission"))
    configured = strings_in({"loki": {"env": [{"secretKeyRef": {"name": "todo-chatbot-loki-spaces"}}]}})
    needed = required_secrets([loki, hooked], NS, {"app"}, configured)
    assert [(r.ref.name, r.referenced_by) for r in needed] == [
        ("todo-chatbot-loki-spaces", ["StatefulSet/todo-chatbot/loki"])]


def test_each_required_secret_lists_every_object_that_references_it():
    a = obj("Deployment", "a", "app-0.1.0", **pod("x", pull_secret="pull"))
    b = obj("StatefulSet", "b", "app-0.1.0", **pod("x", pull_secret="pull"))
    (needed,) = required_secrets([a, b], NS, {"app"})
    assert str(needed.ref) == "todo-chatbot/pull"
    assert needed.referenced_by == [f"Deployment/{NS}/a", f"StatefulSet/{NS}/b"]


def test_our_charts_are_the_local_charts_of_versions_toml():
    assert "platform" in our_charts()


def test_required_secrets_of_each_environment_are_referenced_by_our_charts_and_not_created(release, env_name):
    charts = our_charts()
    created = {d["metadata"]["name"] for d in find(release, "Secret")}
    for needed in required_secrets(release, NS, charts):
        assert needed.ref.name not in created, env_name
        assert needed.referenced_by, env_name


# --- CRDs from the pinned archives ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crd_files(upstream_charts) -> list[crds.CrdFile]:
    del upstream_charts
    return crds.crd_files()


@pytest.mark.parametrize("group", ["kafka.strimzi.io", "dapr.io", "monitoring.coreos.com"])
def test_crds_of_strimzi_dapr_and_prometheus_operator_come_from_the_pinned_archives(crd_files, group):
    assert any(f"group: {group}" in f.text for f in crd_files)


def test_crds_of_nested_subcharts_are_included_and_templates_are_not(crd_files):
    sources = [f.source for f in crd_files]
    assert any("kube-prometheus-stack/charts/crds/crds/" in s for s in sources)
    assert all("/templates/" not in s for s in sources)
    assert all(s.split("!", 1)[0] in {p.name for p in crds.CHARTS_DIR.glob("*.tgz")} for s in sources)


def test_crd_bundle_keeps_every_file_under_its_source(crd_files):
    bundle = crds.crd_bundle(crd_files)
    assert [line.removeprefix("# Source: ") for line in bundle.splitlines() if line.startswith("# Source: ")] == [
        f.source for f in crd_files]
    assert bundle.count("kind: CustomResourceDefinition") >= len(crd_files)


def _chart_tgz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_crds_of_archives_nested_in_archives_are_found(tmp_path: Path):
    inner = _chart_tgz({"inner/Chart.yaml": "name: inner", "inner/crds/b.yaml": "kind: CustomResourceDefinition"})
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w:gz") as tar:
        for name, data in {"outer/Chart.yaml": b"name: outer", "outer/crds/a.yaml": b"kind: CustomResourceDefinition",
                           "outer/templates/crds/not-a-crd-folder.yaml": b"kind: ConfigMap",
                           "outer/charts/inner-1.0.0.tgz": inner}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "outer-1.0.0.tgz").write_bytes(outer.getvalue())
    assert [f.source for f in crds.crd_files(tmp_path)] == [
        "outer-1.0.0.tgz!outer/charts/inner-1.0.0.tgz!inner/crds/b.yaml", "outer-1.0.0.tgz!outer/crds/a.yaml"]


# --- rollout targets, rollback target, options ----------------------------------------------------------------


def test_rollout_targets_of_a_real_release_are_its_deployments_and_statefulsets(release):
    targets = planning.workloads(release, NS)
    assert ("Deployment", NS, planning.DAPR_INJECTOR) in targets
    steady = [d for d in release if d["kind"] in ("Deployment", "StatefulSet")
              and "helm.sh/hook" not in (d["metadata"].get("annotations") or {})]
    assert len(targets) == len(steady)


@pytest.mark.parametrize(("revisions", "want"), [
    ([(1, "superseded"), (2, "deployed")], 1),
    ([(1, "superseded"), (2, "failed"), (3, "deployed")], 1),
    ([(3, "superseded"), (4, "superseded"), (5, "deployed"), (6, "failed")], 4),
    ([(1, "failed"), (2, "deployed")], None),
    ([(1, "deployed")], None),
])
def test_last_good_revision_is_the_newest_that_served_before_the_deployed_one(revisions, want):
    got = last_good_revision(Revision(r, s) for r, s in revisions)
    assert (got.revision if got else None) == want


@pytest.mark.parametrize(("option", "value", "flag"), [
    ("timeout", "ten minutes", "--timeout"),
    ("timeout", "", "--timeout"),
    ("history_max", 0, "--history-max"),
    ("wait", "hookOnly", "--wait"),
])
def test_bad_options_are_refused_naming_the_flag(option, value, flag):
    with pytest.raises(ValueError, match=flag):
        planning.Options(values=(), **{option: value})


@pytest.mark.parametrize(("duration", "seconds"), [("90s", 90), ("15m", 900), ("1h30m", 5400)])
def test_helm_durations_convert_to_seconds(duration, seconds):
    assert planning.seconds(duration) == seconds


def test_api_versions_of_the_pinned_crds(crd_files):
    served = crds.api_versions(crd_files)
    assert {"kafka.strimzi.io/v1", "dapr.io/v1alpha1", "dapr.io/v2alpha1", "monitoring.coreos.com/v1"} <= served
