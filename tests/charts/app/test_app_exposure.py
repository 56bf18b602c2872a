"""External access: Gateway API by default (Envoy Gateway on kind, DOKS's Cilium in the cloud), a plain
Ingress option, cert-manager TLS with Let's Encrypt staging outside production."""

from __future__ import annotations

import pytest

from tests.charts.app.support import name, render_app
from todo_cloud.render import Manifest, find, get

GATEWAY = "todo-chatbot-public"
CLASS = {"local": "eg", "staging": "cilium", "production": "cilium"}
HOSTNAMES = {"local": ["todo.localtest.me"], "staging": ["staging.todo-chatbot.example.com"],
             "production": ["todo-chatbot.example.com"]}
ACME = {"staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
        "production": "https://acme-v02.api.letsencrypt.org/directory"}


def test_gateway_uses_the_environment_gateway_class(app: list[Manifest], env_name: str) -> None:
    assert get(app, "Gateway", GATEWAY)["spec"]["gatewayClassName"] == CLASS[env_name]


def test_frontend_route_serves_the_environment_hostnames(app: list[Manifest], env_name: str) -> None:
    route = get(app, "HTTPRoute", name("frontend"))
    assert route["spec"]["hostnames"] == HOSTNAMES[env_name]
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    assert backend == {"name": name("frontend"), "port": 3000}
    listener = "http" if env_name == "local" else "https"
    assert route["spec"]["parentRefs"] == [{"name": GATEWAY, "sectionName": listener}]


def test_only_the_frontend_is_public(app: list[Manifest]) -> None:
    assert [r["metadata"]["name"] for r in find(app, "HTTPRoute") if r["spec"]["rules"][0].get("backendRefs")] == [
        name("frontend")]


def test_local_serves_plain_http_without_certificates() -> None:
    docs = render_app("local")
    listeners = get(docs, "Gateway", GATEWAY)["spec"]["listeners"]
    assert [listener["protocol"] for listener in listeners] == ["HTTP"]
    assert not find(docs, "Certificate") and not find(docs, "ClusterIssuer")


@pytest.mark.parametrize("env", ["staging", "production"])
def test_cloud_environments_terminate_tls_with_a_cert_manager_certificate(env: str) -> None:
    docs = render_app(env)
    https = {x["name"]: x for x in get(docs, "Gateway", GATEWAY)["spec"]["listeners"]}["https"]
    assert https["port"] == 443 and https["tls"]["mode"] == "Terminate"
    assert https["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "todo-chatbot-tls"}]
    certificate = get(docs, "Certificate", "todo-chatbot-public")
    assert certificate["spec"]["secretName"] == "todo-chatbot-tls"
    assert certificate["spec"]["dnsNames"] == HOSTNAMES[env]
    assert certificate["spec"]["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer",
                                                "name": f"todo-chatbot-letsencrypt-{env}"}


@pytest.mark.parametrize("env", ["staging", "production"])
def test_lets_encrypt_staging_is_used_everywhere_but_production(env: str) -> None:
    issuer = get(render_app(env), "ClusterIssuer", f"todo-chatbot-letsencrypt-{env}")
    assert issuer["spec"]["acme"]["server"] == ACME[env]
    solver = issuer["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]["parentRefs"][0]
    assert solver == {"kind": "Gateway", "name": GATEWAY, "namespace": "todo-chatbot", "sectionName": "http"}


def test_http_redirects_to_https_when_tls_is_on() -> None:
    route = get(render_app("staging"), "HTTPRoute", "todo-chatbot-https-redirect")
    assert route["spec"]["parentRefs"][0]["sectionName"] == "http"
    redirect = route["spec"]["rules"][0]["filters"][0]
    assert redirect["requestRedirect"] == {"scheme": "https", "statusCode": 301}


def test_ingress_option_replaces_the_gateway_and_solves_acme_through_the_ingress_class() -> None:
    docs = render_app("staging", {"exposure": {"mode": "ingress", "ingress": {"className": "traefik"}}})
    assert not find(docs, "Gateway") and not find(docs, "HTTPRoute")
    ingress = get(docs, "Ingress", name("frontend"))
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["tls"] == [{"hosts": HOSTNAMES["staging"], "secretName": "todo-chatbot-tls"}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": name("frontend"), "port": {"name": "http"}}
    issuer = get(docs, "ClusterIssuer", "todo-chatbot-letsencrypt-staging")
    assert issuer["spec"]["acme"]["solvers"][0]["http01"] == {"ingress": {"ingressClassName": "traefik"}}


def test_exposure_none_publishes_nothing() -> None:
    docs = render_app("staging", {"exposure": {"mode": "none"}})
    for kind in ("Gateway", "HTTPRoute", "Ingress", "Certificate", "ClusterIssuer"):
        assert not find(docs, kind), kind
