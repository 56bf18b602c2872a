"""Bad input: every invalid value set fails the whole `helm template` with a message naming the key.

Schema rules answer with the JSON pointer of the key (`at '/components/backend/replicas'`), template
guards with its dotted path (`components.backend.image.digest`). Nothing renders half: the harness gets no
documents, only the error.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.charts.app.support import pod_spec, render_app
from todo_cloud.render import RenderError

DIGEST = "sha256:" + "a" * 64

# (id, environment, overrides, text the error must contain: the offending key, and what is wrong)
BAD_VALUES: list[tuple[str, str | None, dict[str, Any], tuple[str, ...]]] = [
    ("replicas-zero", "local", {"components": {"backend": {"replicas": 0}}},
     ("/components/backend/replicas", "minimum")),
    ("replicas-wrong-type", "local", {"components": {"backend": {"replicas": "two"}}},
     ("/components/backend/replicas", "string")),
    ("unknown-component-key", "local", {"components": {"backend": {"replica": 2}}},
     ("/components/backend", "'replica' not allowed")),
    ("unknown-top-level-key", "local", {"frontend": {"enabled": True}},
     ("additional properties 'frontend' not allowed",)),
    ("unknown-defaults-key", "local", {"defaults": {"cpu": "1"}},
     ("/defaults", "'cpu' not allowed")),
    ("component-name-not-a-dns-label", "local",
     {"components": {"Backend_2": {"enabled": True, "image": {"repository": "x", "tag": "1"}, "port": 8000}}},
     ("Backend_2",)),
    ("image-repository-missing", "local", {"components": {"backend": {"image": {"repository": None}}}},
     ("/components/backend/image", "missing property 'repository'")),
    ("image-tag-missing", "local", {"components": {"frontend": {"image": {"tag": None}}}},
     ("/components/frontend/image", "missing property 'tag'")),
    ("image-tag-a-number", "local", {"components": {"frontend": {"image": {"tag": 1.5}}}},
     ("/components/frontend/image/tag", "string")),
    ("image-digest-malformed", "local", {"components": {"frontend": {"image": {"digest": "sha256:abc"}}}},
     ("/components/frontend/image/digest",)),
    ("production-without-digest", None, {"global": {"environment": "production"},
                                         "defaults": {"autoscaling": {"enabled": True}}},
     ("components.analytics.image.digest", "required in production")),
    ("digest-null", "production", {"components": {"backend": {"image": {"digest": None}}}},
     ("/components/backend/image/digest",)),
    ("production-consumer-without-digest", "production", {"components": {"audit": {"enabled": True}}},
     ("components.audit.image.digest", "required in production")),
    ("hpa-min-above-max", "staging", {"defaults": {"autoscaling": {"minReplicas": 5, "maxReplicas": 3}}},
     ("components.analytics.autoscaling.minReplicas", "greater than maxReplicas")),
    ("hpa-max-zero", "staging", {"components": {"frontend": {"autoscaling": {"maxReplicas": 0}}}},
     ("/components/frontend/autoscaling/maxReplicas", "minimum")),
    ("production-single-replica", "production",
     {"components": {"frontend": {"autoscaling": {"enabled": False}, "replicas": 1}}},
     ("components.frontend.replicas", "at least 2")),
    ("production-hpa-min-one", "production", {"defaults": {"autoscaling": {"minReplicas": 1}}},
     ("components.analytics.autoscaling.minReplicas", "at least 2")),
    ("pdb-max-unavailable-zero", "local", {"defaults": {"podDisruptionBudget": {"maxUnavailable": 0}}},
     ("/defaults/podDisruptionBudget/maxUnavailable", "minimum")),
    ("secret-name-missing", "local",
     {"components": {"backend": {"secrets": {"DATABASE_URL": {"secret": None}}}}},
     ("/components/backend/secrets/DATABASE_URL", "missing property 'secret'")),
    ("secret-name-empty", "local", {"components": {"backend": {"secrets": {"OPENAI_API_KEY": {"secret": ""}}}}},
     ("/components/backend/secrets/OPENAI_API_KEY/secret",)),
    ("plaintext-secret-in-secret-env", "local",
     {"components": {"backend": {"secrets": {"DATABASE_URL": "postgresql://todo:hunter2@db:5432/todo"}}}},
     ("/components/backend/secrets/DATABASE_URL", "object")),
    ("plaintext-secret-in-config", "local", {"components": {"backend": {"config": {"DB_PASSWORD": "hunter2"}}}},
     ("/components/backend/config/DB_PASSWORD",)),
    ("plaintext-database-url-in-config", "local",
     {"components": {"backend": {"config": {"DATABASE_URL": "postgresql://todo:hunter2@db/todo"}}}},
     ("/components/backend/config/DATABASE_URL",)),
    ("config-value-not-a-string", "local", {"components": {"backend": {"config": {"WORKERS": 4}}}},
     ("/components/backend/config/WORKERS", "string")),
    ("secret-file-path-also-in-config", "local", {"components": {"backend": {
        "config": {"MODEL_ENDPOINT_FILE": "/tmp/x"}, "secrets": {"MODEL_ENDPOINT": {"secret": "s", "key": "k"}}}}},
     ("components.backend.secrets.MODEL_ENDPOINT", "MODEL_ENDPOINT_FILE is also set")),
    ("dapr-token-secret-missing", "local", {"dapr": {"apiTokenSecret": ""}},
     ("/dapr/apiTokenSecret",)),
    ("dapr-shutdown-not-shorter-than-grace", "local", {"components": {"backend": {
        "dapr": {"gracefulShutdownSeconds": 60}, "terminationGracePeriodSeconds": 45}}},
     ("components.backend.dapr.gracefulShutdownSeconds", "terminationGracePeriodSeconds")),
    ("dapr-log-level-unknown", "local", {"defaults": {"dapr": {"logLevel": "verbose"}}},
     ("/defaults/dapr/logLevel",)),
    ("cpu-not-a-quantity", "local", {"components": {"backend": {"resources": {"requests": {"cpu": "lots"}}}}},
     ("/components/backend/resources/requests/cpu",)),
    ("limits-missing-memory", "local", {"defaults": {"resources": {"limits": {"memory": None}}}},
     ("/defaults/resources/limits", "missing property 'memory'")),
    ("probe-path-relative", "local", {"components": {"backend": {"probes": {"liveness": {"path": "health"}}}}},
     ("/components/backend/probes/liveness/path",)),
    ("spread-policy-unknown", "local", {"defaults": {"topologySpread": {"whenUnsatisfiable": "Never"}}},
     ("/defaults/topologySpread/whenUnsatisfiable",)),
    ("calls-a-disabled-component", "local", {"components": {"frontend": {"calls": ["backend", "audit"]}}},
     ("components.frontend.calls", '"audit" is not an enabled component')),
    ("hostname-with-underscore", "local", {"exposure": {"hostnames": ["todo_app.example.com"]}},
     ("/exposure/hostnames/0",)),
    ("hostname-with-scheme", "staging", {"exposure": {"hostnames": ["https://todo.example.com"]}},
     ("/exposure/hostnames/0",)),
    ("hostname-upper-case", "staging", {"exposure": {"hostnames": ["Todo.Example.com"]}},
     ("/exposure/hostnames/0",)),
    ("hostnames-empty", "staging", {"exposure": {"hostnames": []}},
     ("/exposure/hostnames", "minItems")),
    ("exposure-mode-unknown", "local", {"exposure": {"mode": "loadbalancer"}},
     ("/exposure/mode",)),
    ("exposed-component-disabled", "local", {"exposure": {"component": "notification"}},
     ("exposure.component", '"notification" is not an enabled component')),
    ("tls-issuer-unknown", "staging", {"tls": {"issuer": "prod"}},
     ("/tls/issuer",)),
    ("tls-without-email", "staging", {"tls": {"email": None}},
     ("/tls", "missing property 'email'")),
    ("production-with-staging-certificates", "production", {"tls": {"issuer": "staging"}},
     ("tls.issuer", "production")),
    ("production-without-tls", "production", {"tls": {"enabled": False}},
     ("tls.enabled", "HTTPS")),
    ("database-cidr-malformed", "local", {"networkPolicy": {"database": {"cidr": "10.0.0.0"}}},
     ("/networkPolicy/database/cidr",)),
    ("database-port-wrong-type", "local", {"networkPolicy": {"database": {"port": "5432"}}},
     ("/networkPolicy/database/port", "string")),
    ("pull-secrets-not-a-list", "staging", {"image": {"pullSecrets": "todo-chatbot-registry"}},
     ("/image/pullSecrets", "array")),
    ("environment-unknown", "local", {"global": {"environment": "prod"}},
     ("/global/environment",)),
    ("workloads-flag-not-boolean", "local", {"global": {"workloads": {"enabled": "no"}}},
     ("/global/workloads/enabled", "boolean")),
    ("read-secrets-without-token", "local", {"components": {"frontend": {"serviceAccount": {
        "readSecrets": ["todo-chatbot-auth"]}}}},
     ("components.frontend.serviceAccount.readSecrets", "automountToken")),
    ("api-server-cidr-malformed", "local", {"networkPolicy": {"apiServer": {"cidr": "everywhere"}}},
     ("/networkPolicy/apiServer/cidr",)),
    ("test-image-from-disabled-component", "local", {"tests": {"imageFrom": "audit"}},
     ("tests.imageFrom", '"audit" is not an enabled component')),
    # what the API server (or the sidecar injector building a pod) would refuse later
    ("memory-limit-below-request", "local", {"components": {"backend": {"resources": {
        "requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}}}}},
     ("components.backend.resources.limits.memory", "below components.backend.resources.requests.memory")),
    ("cpu-limit-below-request", "staging",
     {"defaults": {"resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "500m"}}}},
     ("components.backend.resources.limits.cpu", "below")),
    ("sidecar-limit-below-request", "local", {"components": {"frontend": {"dapr": {"sidecar": {
        "requests": {"cpu": "400m", "memory": "64Mi"}, "limits": {"cpu": "300m", "memory": "256Mi"}}}}}},
     ("components.frontend.dapr.sidecar.limits.cpu", "below components.frontend.dapr.sidecar.requests.cpu")),
    ("port-of-the-dapr-sidecar", "local", {"components": {"backend": {"port": 3500}}},
     ("components.backend.port", "Dapr sidecar's HTTP API")),
    ("port-of-the-sidecar-metrics", "local", {"components": {"frontend": {"port": 9090}}},
     ("components.frontend.port", "dapr.metricsPort")),
    ("database-cidr-octet-out-of-range", "local", {"networkPolicy": {"database": {"cidr": "10.300.0.0/16"}}},
     ("/networkPolicy/database/cidr",)),
    ("database-cidr-host-bits", "local", {"networkPolicy": {"database": {"cidr": "10.110.0.1/20"}}},
     ("networkPolicy.database.cidr", "host bits", "10.110.0.0/20")),
    ("database-cidr-missing", "staging", {"networkPolicy": {"database": {"cidr": ""}}},
     ("networkPolicy.database.cidr", "required", "components.backend.database")),
    ("external-except-host-bits", "local", {"networkPolicy": {"external": {"except": ["192.168.1.1/16"]}}},
     ("networkPolicy.external.except[0]", "host bits")),
    ("kafka-port-listed-twice", "local", {"networkPolicy": {"kafka": {"ports": [9092, 9092]}}},
     ("networkPolicy.kafka.ports[1]", "twice")),
    ("image-registry-missing", "staging", {"image": {"registry": ""}},
     ("image.registry", "required")),
    ("pull-secret-listed-twice", "staging", {"image": {"pullSecrets": ["a", "a"]}},
     ("/image/pullSecrets",)),
]


@pytest.mark.parametrize(("env", "overrides", "expected"), [case[1:] for case in BAD_VALUES],
                         ids=[case[0] for case in BAD_VALUES])
def test_bad_values_fail_the_render_naming_the_key(env: str | None, overrides: dict, expected: tuple[str, ...]) -> None:
    with pytest.raises(RenderError) as failure:
        render_app(env, overrides)
    message = failure.value.stderr
    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"


def test_production_runs_a_component_given_its_digest_by_that_digest() -> None:
    docs = render_app("production", {"components": {"audit": {"enabled": True, "image": {"digest": DIGEST}}}})
    images = [c["image"] for c in pod_spec(docs, "audit")["containers"]]
    assert [image.split("@")[1] for image in images] == [DIGEST], images
