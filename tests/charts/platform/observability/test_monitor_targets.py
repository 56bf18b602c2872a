"""The platform chart's monitor targets are generated from the metrics catalogue
(scripts/todo_cloud/generate/monitor_targets.py): a change to a target's `scrape` in the catalogue changes
the committed helper (so `make check-generated` fails until it is regenerated), placeholders become the
chart's values, and a catalogue the chart cannot follow fails generation naming the target."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from todo_cloud import generate, yamlfile
from todo_cloud.generate import monitor_targets
from todo_cloud.observability import ObservabilityError, promql
from todo_cloud.render import get, render_subchart


def catalogue_copy(tmp_path: Path, edit: dict[str, dict]) -> Path:
    """The metrics catalogue with the targets of `edit` replaced or added (None removes a key)."""
    data = yamlfile.load(promql.CATALOGUE_FILE)
    for job, target in edit.items():
        merged = {**data["targets"].get(job, {}), **target}
        data["targets"][job] = {k: v for k, v in merged.items() if v is not None}
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_committed_helper_is_the_generators_output() -> None:
    assert monitor_targets.OUTPUT.read_text() == monitor_targets.helper(promql.CATALOGUE_FILE)
    assert monitor_targets.OUTPUT in generate.outputs()


def test_a_changed_scrape_in_the_catalogue_is_a_drift_of_the_helper(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    changed = catalogue_copy(tmp_path, {"jaeger": {"scrape": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "jaeger-collector"}},
        "endpoints": [{"port": "metrics", "path": "/metrics"}]}}})
    monkeypatch.setattr(promql, "CATALOGUE_FILE", changed)
    diffs = generate.drift()
    assert len(diffs) == 1, diffs
    assert "charts/platform/templates/_monitor_targets.tpl (generated)" in diffs[0]
    assert "+      app.kubernetes.io/name: jaeger-collector" in diffs[0]
    assert "+  - port: metrics" in diffs[0]


def test_placeholders_become_the_chart_values() -> None:
    docs = render_subchart("platform", "production", {"monitoring": {
        "kafkaCluster": "events", "targets": {"backend": {"enabled": True, "path": "/internal/metrics"}}}})
    exporter = get(docs, "PodMonitor", "todo-chatbot-kafka-exporter")["spec"]["selector"]["matchLabels"]
    assert exporter == {"strimzi.io/cluster": "events", "strimzi.io/name": "events-kafka-exporter"}
    backend = get(docs, "ServiceMonitor", "todo-chatbot-backend")["spec"]["endpoints"]
    assert [(e["port"], e["path"]) for e in backend] == [("http", "/internal/metrics")]
    loki = get(docs, "ServiceMonitor", "todo-chatbot-loki")["spec"]["selector"]["matchLabels"]
    assert loki["app.kubernetes.io/instance"] == "todo-chatbot"


@pytest.mark.parametrize(("edit", "message"), [
    ({"jaeger": {"scrape": None}}, r"targets\.jaeger\.scrape: a target of chart platform needs"),
    ({"prometheus": {"scrape": {"selector": {}, "endpoints": [{"port": "web", "path": "/metrics"}]}}},
     r"targets\.prometheus\.scrape: only targets of chart platform"),
    ({"jaeger": {"monitor": "ServiceMonitor/tracing-jaeger"}},
     r"targets\.jaeger\.monitor: 'tracing-jaeger' does not start with the release name"),
    ({"tempo": {"description": "Tempo.", "monitor": "ServiceMonitor/todo-chatbot-tempo", "chart": "platform",
                "metrics": ["tempo_up"], "scrape": {"selector": {}, "endpoints": [{"port": "m", "path": "/"}]}}},
     r"values\.yaml monitoring\.targets: .* differ from the catalogue's platform targets"),
    ({"loki": {"scrape": {"selector": {}, "endpoints": [{"port": "http-metrics", "path": "${path}"}]}}},
     r"monitoring\.targets\.loki\.path: the catalogue's scrape of loki reads \$\{path\}"),
])
def test_a_catalogue_the_chart_cannot_follow_fails_naming_the_target(tmp_path: Path, edit: dict,
                                                                      message: str) -> None:
    with pytest.raises(ObservabilityError, match=message):
        monitor_targets.helper(catalogue_copy(tmp_path, edit))
