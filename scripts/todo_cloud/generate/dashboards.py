"""Grafana dashboards of the platform chart (Application Overview, Kafka, Kubernetes, Dapr), from the
definitions in todo_cloud.observability.dashboards, as JSON in charts/platform/dashboards/; the platform
chart ships each as a ConfigMap the Grafana sidecar loads. Generation fails on an unknown data source or a
query reading a metric that no scrape target collects."""

from __future__ import annotations

import json
from pathlib import Path

from todo_cloud.generate import header
from todo_cloud.observability import dashboards, rules
from todo_cloud.paths import CHARTS

DASHBOARDS_DIR = CHARTS / "platform" / "dashboards"


def generate() -> dict[Path, str]:
    recorded = {r["record"] for r in rules.slo_rules() if "record" in r}
    note = header("dashboards", "").strip()
    return {
        DASHBOARDS_DIR / f"{d.file}.json": json.dumps(dashboards.build(d, recorded, note), indent=2) + "\n"
        for d in dashboards.all_dashboards()
    }
