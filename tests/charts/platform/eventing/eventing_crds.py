"""CRD schemas of the pinned upstream charts (Strimzi, Dapr) as JSON schemas, to validate our CRs.

The schemas and the check are the validate gate's (todo_cloud.gates.kubeschema, the CRDs read by
todo_cloud.crds): unknown fields are errors, as the API server would prune them silently. Here the schemas
are narrowed to those of the Strimzi and Dapr charts.
"""

from __future__ import annotations

from todo_cloud import versions
from todo_cloud.gates import kubeschema

CHARTS_WITH_CRDS = ("strimzi-kafka-operator", "dapr")


def crd_schemas() -> dict[str, dict]:
    """`group/version/Kind` -> JSON schema, for every served version of the Strimzi and Dapr charts' CRDs."""
    archives = {c.archive for c in versions.upstream_charts() if c.name in CHARTS_WITH_CRDS}
    return {key: entry["schema"] for key, entry in kubeschema.chart_crd_schemas().items()
            if entry["source"] in archives}


def crd_errors(doc: dict) -> list[str]:
    """The validate gate's findings on one custom resource (`rule: message`); an unknown kind is one."""
    return [f"{f.rule}: {f.message}" for f in kubeschema.validate_object(doc, "")]
