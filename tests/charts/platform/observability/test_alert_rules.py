"""The generated alert and recording rules: complete, valid PromQL on collected metrics, linked to a runbook
section, SLO burn rates as in the SRE workbook; bad SLO and rule definitions fail generation naming them."""

from __future__ import annotations

import shutil
from pathlib import Path

import promql_parser
import pytest
import yaml

from todo_cloud import envs, yamlfile
from todo_cloud.generate import alert_rules
from todo_cloud.observability import ObservabilityError, promql, rules, runbook

GROUPS = rules.rule_groups()
ALERTS = [(group, r) for group, group_rules in GROUPS.items() for r in group_rules if "alert" in r]
RECORDED = frozenset(r["record"] for r in GROUPS["slo"] if "record" in r)
REQUIRED_ALERTS = {
    "HighErrorRate", "PodNotReady", "BackendAvailabilityBudgetBurn", "BackendLatencyBudgetBurn",
    "KafkaUnderReplicatedPartitions", "KafkaOfflinePartitions", "KafkaConsumerGroupLag", "KafkaBrokerDown",
    "KafkaDiskUsageHigh", "DaprSidecarInjectionFailures", "DaprPubsubPublishFailures", "DaprPubsubDeliveryFailures",
    "DaprInvocationErrorRatio", "LokiIngestionErrors", "JaegerCollectorDrops", "PostgresDumpFailed",
    "PostgresDumpMissed", "VeleroBackupFailed", "VeleroBackupNotRun",
}


def alert_id(item: tuple[str, dict]) -> str:
    group, rule = item
    return f"{group}/{rule['alert']}/{rule['labels'].get('long_window', '')}"


def test_every_alert_the_issue_asks_for_is_generated() -> None:
    assert {r["alert"] for _, r in ALERTS} >= REQUIRED_ALERTS


@pytest.mark.parametrize("item", ALERTS, ids=[alert_id(a) for a in ALERTS])
def test_alert_has_severity_summary_description_and_runbook_section(item: tuple[str, dict]) -> None:
    _, rule = item
    assert rule["labels"]["severity"] in ("critical", "warning", "info")
    assert rule["annotations"]["summary"].strip() and rule["annotations"]["description"].strip()
    url = rule["annotations"]["runbook_url"]
    assert url.startswith("https://") and "/docs/RUNBOOK.md#" in url
    assert url.split("#", 1)[1] in runbook.anchors()


@pytest.mark.parametrize("item", ALERTS, ids=[alert_id(a) for a in ALERTS])
def test_alert_expression_parses_and_reads_only_collected_metrics(item: tuple[str, dict]) -> None:
    _, rule = item
    assert promql_parser.parse(rule["expr"])
    promql.check_metrics(rule["expr"], rule["alert"], RECORDED)


def test_every_runbook_section_an_alert_needs_has_meaning_checks_mitigation_and_escalation() -> None:
    text = runbook.RUNBOOK.read_text()
    sections = {runbook.anchor(s.splitlines()[0]): s for s in text.split("\n### ")[1:]}
    for _, rule in ALERTS:
        body = sections[rule["annotations"]["runbook_url"].split("#", 1)[1]]
        for part in ("**Meaning.**", "**First checks.**", "**Mitigation.**", "**Escalation.**"):
            assert part in body, f"{rule['alert']}: RUNBOOK.md section lacks {part}"


PROCEDURES = ["Rollback", "Backup and restore", "Disaster recovery", "Certificate renewal failure",
              "Kafka broker replacement and under-replicated partitions", "Scaling the node pool",
              "Rotating credentials"]


def test_runbook_has_the_procedures_of_a_bad_day_after_the_alert_sections() -> None:
    headings = [line[3:] for line in runbook.RUNBOOK.read_text().splitlines() if line.startswith("## ")]
    procedures = [h for h in headings if h in PROCEDURES]
    assert procedures == PROCEDURES, "missing or out of order"
    alert_sections = [i for i, h in enumerate(headings) if h.endswith(" alerts")]
    assert max(alert_sections) < headings.index("Rollback"), "alert sections come first"


def test_rules_scoped_to_a_namespace_use_the_environments_namespace() -> None:
    namespaces = {envs.get(e).namespace for e in envs.names()}
    assert namespaces == {"todo-chatbot"}, "rules hard-code the namespace: generate them per namespace"
    scoped = [r for _, r in ALERTS if 'namespace="' in r["expr"]]
    assert scoped and all('namespace="todo-chatbot"' in r["expr"] for r in scoped)


def test_high_error_rate_is_a_ratio_of_errors_to_all_requests_per_service() -> None:
    rule = next(r for _, r in ALERTS if r["alert"] == "HighErrorRate")
    expr = promql_parser.parse(rule["expr"])
    assert str(expr.op) == ">" or "Gtr" in str(expr.op)
    ratio = expr.lhs
    assert "Div" in str(ratio.op) or str(ratio.op) == "/"
    assert {s.metric for s in promql.selectors(rule["expr"], "HighErrorRate")} == {"http_requests_total"}
    assert 'status="5xx"' in rule["expr"] and "by (namespace, job)" in rule["expr"]


# (factor, long window, short window, severity) of the Google SRE workbook's multi-window alerts
WORKBOOK = [(14.4, "1h", "5m", "critical"), (6, "6h", "30m", "critical"), (1, "3d", "6h", "warning")]


@pytest.mark.parametrize("slo,budget", [("backend-availability", "0.001"), ("backend-latency", "0.01")])
def test_slo_gets_the_workbooks_three_burn_rate_alerts(slo: str, budget: str) -> None:
    got = [(r["labels"]["long_window"], r["labels"]["short_window"], r["labels"]["severity"], r["expr"])
           for r in GROUPS["slo"] if "alert" in r and r["labels"]["slo"] == slo]
    assert [(long, short, sev) for long, short, sev, _ in got] == [(w[1], w[2], w[3]) for w in WORKBOOK]
    for (factor, long, short, _), (_, _, _, expr) in zip(WORKBOOK, got, strict=True):
        threshold = f"({factor:g} * {budget})"
        assert f'slo:sli_error:ratio_rate{long}{{slo="{slo}"}} > {threshold}' in expr
        assert f'slo:sli_error:ratio_rate{short}{{slo="{slo}"}} > {threshold}' in expr


def test_slo_error_ratios_are_recorded_for_every_window() -> None:
    windows = {w for f in WORKBOOK for w in f[1:3]}
    for slo in ("backend-availability", "backend-latency"):
        recorded = {r["record"].removeprefix(rules.RECORD_PREFIX) for r in GROUPS["slo"]
                    if "record" in r and r["labels"]["slo"] == slo}
        assert recorded == windows


def test_latency_slo_counts_requests_slower_than_the_threshold_bucket() -> None:
    rule = next(r for r in GROUPS["slo"] if r.get("record") == f"{rules.RECORD_PREFIX}5m"
                and r["labels"]["slo"] == "backend-latency")
    assert rule["expr"].startswith("1 - (")
    assert 'http_request_duration_seconds_bucket{job="backend"' in rule["expr"] and 'le="0.5"' in rule["expr"]


def test_generated_rule_files_hold_every_group_with_the_header() -> None:
    files = alert_rules.generate()
    assert {p.name for p in files} == {f"{g}.rules.yaml" for g in GROUPS}
    for path, text in files.items():
        assert text.startswith("# generated by `make generate` (scripts/todo_cloud/generate/alert_rules.py)")
        assert yaml.safe_load(text)["groups"][0]["name"] == f"todo-chatbot.{path.name.split('.')[0]}"


# --- bad input ------------------------------------------------------------------------------------------

@pytest.fixture()
def slo_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(rules.SLO_FILE, tmp_path / "slos.yaml"))


@pytest.fixture()
def alerts_file(tmp_path: Path) -> Path:
    return Path(shutil.copy(rules.ALERTS_FILE, tmp_path / "alerts.yaml"))


def edit(path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    data = yamlfile.load(path)
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("objective", [0, 1, 1.5, -0.1, "99.9%", True])
def test_slo_objective_outside_zero_one_fails_naming_the_slo(slo_file: Path, objective: object) -> None:
    edit(slo_file, lambda d: d["slos"][1].update(objective=objective))
    with pytest.raises(ObservabilityError, match=r"slos\[backend-latency\]\.objective: .* not strictly between"):
        rules.slo_rules(slo_file)


def test_slo_with_a_malformed_window_fails_naming_it(slo_file: Path) -> None:
    edit(slo_file, lambda d: d["burnRates"][0].update(long="1 hour"))
    with pytest.raises(ObservabilityError, match=r"burnRates\[0\]\.long: '1 hour' is not a Prometheus duration"):
        rules.slo_rules(slo_file)


def test_rule_without_runbook_section_fails_naming_the_rule(alerts_file: Path) -> None:
    edit(alerts_file, lambda d: d["groups"][0]["rules"][0].update(runbook="no-such-section"))
    with pytest.raises(ObservabilityError, match=r"rules\[HighErrorRate\]\.runbook: no section #no-such-section"):
        rules.alert_groups(alerts_file)


def test_rule_reading_an_uncollected_metric_fails_naming_rule_and_metric(alerts_file: Path) -> None:
    edit(alerts_file, lambda d: d["groups"][1]["rules"][0].update(expr="sum(kafka_made_up_metric) > 0"))
    with pytest.raises(ObservabilityError, match=r"Partitions\]\.expr: metric 'kafka_made_up_metric'"):
        rules.alert_groups(alerts_file)


def test_rule_reading_a_metric_its_job_does_not_collect_fails(alerts_file: Path) -> None:
    expr = 'sum(kafka_consumergroup_lag{job="kafka-broker"}) > 0'
    edit(alerts_file, lambda d: d["groups"][1]["rules"][0].update(expr=expr))
    with pytest.raises(ObservabilityError, match="not collected from job 'kafka-broker'"):
        rules.alert_groups(alerts_file)


def test_rule_with_invalid_promql_fails_naming_the_rule(alerts_file: Path) -> None:
    edit(alerts_file, lambda d: d["groups"][0]["rules"][1].update(expr="sum(rate(up[5m]) > 0"))
    with pytest.raises(ObservabilityError, match=r"rules\[PodNotReady\]\.expr: invalid PromQL"):
        rules.alert_groups(alerts_file)


@pytest.mark.parametrize("key", ["severity", "summary", "description"])
def test_rule_without_a_required_field_fails_naming_it(alerts_file: Path, key: str) -> None:
    edit(alerts_file, lambda d: d["groups"][2]["rules"][0].pop(key))
    with pytest.raises(ObservabilityError, match=rf"rules\[DaprSidecarInjectionFailures\]\.{key}"):
        rules.alert_groups(alerts_file)
