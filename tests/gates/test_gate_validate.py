"""`todo-cloud validate`, rendered objects: Kubernetes 1.35 schemas for core kinds, CRD schemas from the
pinned chart archives and the [external_crds] Go modules for custom resources, unknown kinds fail (and kinds
whose external CRDs cannot be had are "schema unavailable"), and every finding names object and rule."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.gates.synthetic_manifests import certificate, deployment, http_route, kafka_topic
from todo_cloud import envs, versions
from todo_cloud.cli import main
from todo_cloud.crds import to_json_schema
from todo_cloud.gates import external_crds, kubeschema
from todo_cloud.gates.kubeschema import validate_object
from todo_cloud.paths import REPO
from todo_cloud.run import CommandError


def test_kubernetes_validate_pin_matches_requirements_and_ships_the_target_minor() -> None:
    pin = versions.load()["kubernetes"]["kubernetes_validate"]
    assert f"kubernetes-validate=={pin}\n" in (REPO / "requirements.txt").read_text()
    assert kubeschema.core_schema_dir().name == f"v{kubernetes_minor()}.0-local-strict"
    assert (kubeschema.core_schema_dir() / "deployment-apps-v1.json").is_file()


def kubernetes_minor() -> str:
    return ".".join(versions.kubernetes_version().split(".")[:2])


def test_a_valid_deployment_has_no_finding() -> None:
    assert validate_object(deployment(), "test") == []


def test_an_unknown_field_of_a_core_kind_names_the_object_and_the_path() -> None:
    doc = deployment()
    doc["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = "Always"
    [finding] = validate_object(doc, "production")
    assert finding.where == "production: Deployment/todo-chatbot/web"
    assert finding.rule.startswith(f"kubernetes {kubernetes_minor()} schema Deployment apps/v1")
    assert "spec.template.spec.containers.0" in finding.rule
    assert "imagePolicy" in finding.message


def test_a_wrong_type_of_a_core_field_is_found() -> None:
    doc = deployment()
    doc["spec"]["replicas"] = "two"
    [finding] = validate_object(doc, "")
    assert finding.rule.endswith("spec.replicas")


def test_an_unknown_kind_fails() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    [finding] = validate_object(doc, "local")
    assert (finding.where, finding.rule) == ("local: Widget/-/w", "unknown-kind")


def test_an_unknown_core_api_version_fails() -> None:
    doc = deployment()
    doc["apiVersion"] = "apps/v1beta1"
    [finding] = validate_object(doc, "local")
    assert finding.rule == "unknown-kind" and "apps/v1beta1" in finding.message


class TestCustomResources:
    """Custom resources against the CRDs of the pinned upstream chart archives."""

    @pytest.fixture(autouse=True, scope="class")
    def _charts(self, upstream_charts) -> None:  # type: ignore[no-untyped-def]
        del upstream_charts

    def test_crd_schemas_come_from_every_archive_including_nested_subcharts(self) -> None:
        schemas = kubeschema.crd_schemas()
        assert "kafka.strimzi.io/v1/KafkaTopic" in schemas
        assert "dapr.io/v2alpha1/Subscription" in schemas
        # kube-prometheus-stack keeps its CRDs in a nested subchart (charts/crds/crds/)
        assert schemas["monitoring.coreos.com/v1/ServiceMonitor"]["source"].startswith("kube-prometheus-stack")

    def test_a_valid_kafka_topic_has_no_finding(self) -> None:
        assert validate_object(kafka_topic(), "staging") == []

    def test_an_unknown_field_in_a_kafka_resource_names_object_and_rule(self) -> None:
        doc = kafka_topic()
        doc["spec"]["replicationFactor"] = 3
        [finding] = validate_object(doc, "staging")
        assert finding.where == "staging: KafkaTopic/todo-chatbot/todo-events"
        assert finding.rule == "CRD schema KafkaTopic kafka.strimzi.io/v1: spec"
        assert "replicationFactor" in finding.message

    def test_a_custom_resource_against_a_wrong_api_version_fails_and_lists_what_exists(self) -> None:
        doc = kafka_topic()
        doc["apiVersion"] = "kafka.strimzi.io/v1beta2"  # Strimzi 1.2 serves only v1
        [finding] = validate_object(doc, "production")
        assert finding.rule == "unknown-kind"
        assert "KafkaTopic in apiVersion kafka.strimzi.io/v1beta2" in finding.message
        assert "v1/KafkaTopic" in finding.message

    def test_a_wrong_type_in_a_dapr_component_is_found(self) -> None:
        doc = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": {"name": "c"},
               "spec": {"type": "pubsub.kafka", "version": "v1", "metadata": "brokers=kafka"}}
        findings = validate_object(doc, "local")
        assert [f.rule for f in findings] == ["CRD schema Component dapr.io/v1alpha1: spec.metadata"]


def test_crd_conversion_rejects_unknown_fields_but_honours_kubernetes_extensions() -> None:
    schema = to_json_schema({
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {}},
            "maybe": {"type": "string", "nullable": True},
        },
    })
    assert schema["additionalProperties"] is False
    assert schema["properties"]["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert "additionalProperties" not in schema["properties"]["free"]
    assert schema["properties"]["maybe"]["type"] == ["string", "null"]


@pytest.fixture(scope="module")
def external_schemas(prerequisite: Callable[[str], Path]) -> None:
    """The [external_crds] pins (Gateway API, cert-manager) are in place (`make prereqs`); the tests fail with
    the reason otherwise."""
    for pin in external_crds.pins():
        prerequisite(f"crds-{pin.name}")
    assert not kubeschema.unavailable_groups()


@pytest.mark.upstream
def test_every_rendered_object_of_known_kinds_validates(release, env_name) -> None:  # type: ignore[no-untyped-def]
    findings = [f for f in kubeschema.validate_documents(release, env_name)
                if f.rule not in ("unknown-kind", "schema-unavailable")]
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.upstream
def test_every_rendered_object_has_a_known_kind(release, env_name, external_schemas) -> None:  # type: ignore[no-untyped-def]
    findings = [f for f in kubeschema.validate_documents(release, env_name)
                if f.rule in ("unknown-kind", "schema-unavailable")]
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.upstream
def test_the_validate_command_passes_for_every_environment(upstream_charts, external_schemas, capsys) -> None:  # type: ignore[no-untyped-def]
    del upstream_charts
    code = main(["validate"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert {f"validate {env}: " for env in envs.names()} <= {line[:line.index(":") + 2] for line in out.splitlines()
                                                             if line.startswith("validate ")}


class TestExternalCrds:
    """Gateway API and cert-manager CRDs from their pinned Go modules (versions.toml [external_crds])."""

    def test_every_pin_names_a_module_version_crd_paths_and_groups(self) -> None:
        pins = {p.name: p for p in external_crds.pins()}
        assert set(pins) >= {"gateway-api", "cert-manager"}
        for pin in pins.values():
            assert re.fullmatch(r"v\d+\.\d+\.\d+", pin.version), pin
            assert pin.paths and all(p.endswith(".yaml") for p in pin.paths), pin
            assert pin.groups, pin
        assert pins["gateway-api"].groups == ("gateway.networking.k8s.io",)
        assert "cert-manager.io" in pins["cert-manager"].groups

    def test_schemas_of_the_rendered_external_kinds_come_from_their_modules(self, external_schemas) -> None:  # type: ignore[no-untyped-def]
        schemas = kubeschema.crd_schemas()
        pins = {p.name: p.source for p in external_crds.pins()}
        for key in ("gateway.networking.k8s.io/v1/Gateway", "gateway.networking.k8s.io/v1/HTTPRoute"):
            assert schemas[key]["source"] == pins["gateway-api"]
        for key in ("cert-manager.io/v1/Certificate", "cert-manager.io/v1/ClusterIssuer"):
            assert schemas[key]["source"] == pins["cert-manager"]
        assert not kubeschema.namespaced("cert-manager.io/v1", "ClusterIssuer")
        assert kubeschema.namespaced("cert-manager.io/v1", "Certificate")

    def test_a_valid_http_route_and_certificate_have_no_finding(self, external_schemas) -> None:  # type: ignore[no-untyped-def]
        assert validate_object(http_route(), "production") == []
        assert validate_object(certificate(), "production") == []

    def test_an_unknown_field_in_an_http_route_names_object_and_rule(self, external_schemas) -> None:  # type: ignore[no-untyped-def]
        doc = http_route()
        doc["spec"]["rules"][0]["backendRefs"][0]["namespace"] = 3
        doc["spec"]["hostname"] = "typo.example.com"
        findings = validate_object(doc, "staging")
        assert {(f.where, f.rule) for f in findings} == {
            ("staging: HTTPRoute/todo-chatbot/web", "CRD schema HTTPRoute gateway.networking.k8s.io/v1: spec"),
            ("staging: HTTPRoute/todo-chatbot/web",
             "CRD schema HTTPRoute gateway.networking.k8s.io/v1: spec.rules.0.backendRefs.0.namespace")}

    def test_a_certificate_without_its_secret_name_is_found(self, external_schemas) -> None:  # type: ignore[no-untyped-def]
        doc = certificate()
        del doc["spec"]["secretName"]
        [finding] = validate_object(doc, "production")
        assert finding.rule == "CRD schema Certificate cert-manager.io/v1: spec"
        assert "secretName" in finding.message

    def test_the_simulated_cluster_gets_the_crd_documents_to_install(self, external_schemas) -> None:  # type: ignore[no-untyped-def]
        docs = external_crds.crd_documents()
        assert {d["kind"] for d in docs} == {"CustomResourceDefinition"}
        names = {d["metadata"]["name"] for d in docs}
        assert {"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
                "certificates.cert-manager.io", "clusterissuers.cert-manager.io"} <= names


class TestExternalCrdsUnavailable:
    """Where Go or a module cannot be had, objects of its groups are a named finding, never a pass."""

    @pytest.fixture(autouse=True)
    def _fresh(self, monkeypatch, tmp_path) -> Iterator[None]:  # type: ignore[no-untyped-def]
        caches = (external_crds.crd_documents_of, kubeschema._external_crd_schemas, kubeschema.crd_schemas,
                  kubeschema._crd_validator)
        for c in caches:
            c.cache_clear()
        monkeypatch.setattr(kubeschema, "CACHE", tmp_path)  # no converted schema from an earlier run
        monkeypatch.setattr(kubeschema, "chart_crd_schemas", dict)
        yield
        for c in caches:
            c.cache_clear()

    def test_without_go_every_external_kind_is_schema_unavailable_with_the_reason(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setattr(external_crds.shutil, "which", lambda name: None)
        gateway_api = next(p for p in external_crds.pins() if p.name == "gateway-api")
        [finding] = validate_object(http_route(), "local")
        assert (finding.where, finding.rule) == ("local: HTTPRoute/todo-chatbot/web", "schema-unavailable")
        assert finding.message == (f"schema unavailable: {gateway_api.source} (gateway-api CRDs): "
                                   "no Go toolchain on PATH to download it")
        [finding] = validate_object(certificate(), "local")
        assert finding.rule == "schema-unavailable" and "github.com/cert-manager/cert-manager@" in finding.message
        with pytest.raises(external_crds.Unavailable, match="no Go toolchain"):
            external_crds.crd_documents()

    def test_a_module_the_proxy_refuses_is_schema_unavailable_with_the_proxy_message(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        def refuse(cmd, **kwargs):  # type: ignore[no-untyped-def]
            raise CommandError(cmd, 1, '{"Error": "reading https://goproxy.invalid/x: 403 Forbidden"}', "")

        monkeypatch.setattr(external_crds.shutil, "which", lambda name: f"/usr/local/go/bin/{name}")
        monkeypatch.setattr(external_crds, "run", refuse)
        [finding] = validate_object(certificate(), "staging")
        assert finding.rule == "schema-unavailable"
        assert finding.message.endswith("cannot be downloaded from the Go module proxy: "
                                        "reading https://goproxy.invalid/x: 403 Forbidden")

    @pytest.mark.upstream
    def test_the_validate_command_fails_naming_the_objects_and_the_reason(  # type: ignore[no-untyped-def]
            self, upstream_charts, monkeypatch, capsys) -> None:
        del upstream_charts
        monkeypatch.setattr(external_crds.shutil, "which", lambda name: None)
        assert main(["validate", "--env", "staging"]) == 1
        lines = capsys.readouterr().out.splitlines()
        unavailable = [line for line in lines if "[schema-unavailable]" in line]
        assert {line.split(": ")[1].split("/")[0] for line in unavailable} == {
            "Gateway", "HTTPRoute", "Certificate", "ClusterIssuer"}
        assert all(line.endswith("no Go toolchain on PATH to download it") for line in unavailable)

    def test_other_unknown_kinds_stay_unknown(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setattr(external_crds.shutil, "which", lambda name: None)
        [finding] = validate_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}, "")
        assert finding.rule == "unknown-kind"
