"""`promtool check rules` and `promtool test rules` on the generated rule files (promtool is a Go tool,
pinned in versions.toml [go_tools.promtool]; built by `make prereqs`, and the tests fail saying so without it).

The unit tests feed series to the rules and expect alerts with labels and annotations computed from the
generated rules themselves (their templates filled in), so a change of wording does not break them."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from todo_cloud.generate.alert_rules import RULES_DIR
from todo_cloud.observability import rules
from todo_cloud.run import run

GROUPS = rules.rule_groups()
NS = "todo-chatbot"
# The series of the PostgreSQL dump CronJob (kube-state-metrics).
DUMP = f'namespace="{NS}",cronjob="todo-chatbot-postgres-dump"'


@pytest.fixture(scope="module")
def promtool(prerequisite: Callable[[str], Path]) -> Path:
    return prerequisite("promtool")


@pytest.fixture(scope="module")
def rule_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rules")
    for f in RULES_DIR.glob("*.rules.yaml"):
        shutil.copy(f, out / f.name)
    return out


def expected(alert: str, labels: dict[str, str], value: float, **match: str) -> dict:
    """The alert as promtool reports it: the rule's labels plus `labels`, its annotations filled in."""
    rule = next(r for g in GROUPS.values() for r in g
                if r.get("alert") == alert and all(r["labels"].get(k) == v for k, v in match.items()))

    def fill(text: str) -> str:
        text = text.replace("{{ $value | humanizePercentage }}", f"{value * 100:.4g}%")
        text = text.replace("{{ $value }}", f"{value:.4g}" if value != int(value) else str(int(value)))
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)

    return {"exp_labels": {**rule["labels"], **labels},
            "exp_annotations": {k: fill(" ".join(v.split())) if k != "runbook_url" else v
                                for k, v in rule["annotations"].items()}}


CASES = {
    "slo-fast-burn": {
        # 2% of backend requests fail: 20x the 0.1% budget. After 10 minutes only the 1h/5m page fires
        # (6h/30m waits 15m, the ticket 1h).
        "interval": "1m",
        "input_series": [
            {"series": f'http_requests_total{{job="backend",namespace="{NS}",handler="/api/todos",status="2xx"}}',
             "values": "0+98x120"},
            {"series": f'http_requests_total{{job="backend",namespace="{NS}",handler="/api/todos",status="5xx"}}',
             "values": "0+2x120"},
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "BackendAvailabilityBudgetBurn",
             "exp_alerts": [expected("BackendAvailabilityBudgetBurn", {}, 0.02, long_window="1h")]},
            {"eval_time": "10m", "alertname": "HighErrorRate", "exp_alerts": []},
        ],
    },
    "high-error-rate": {
        # 10% of a service's requests fail for 20 minutes: HighErrorRate (a ratio, > 5% for 10m).
        "interval": "1m",
        "input_series": [
            {"series": f'http_requests_total{{job="backend",namespace="{NS}",handler="/api/chat",status="2xx"}}',
             "values": "0+9x30"},
            {"series": f'http_requests_total{{job="backend",namespace="{NS}",handler="/api/chat",status="5xx"}}',
             "values": "0+1x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "8m", "alertname": "HighErrorRate", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "HighErrorRate",
             "exp_alerts": [expected("HighErrorRate", {"job": "backend", "namespace": NS}, 0.1)]},
        ],
    },
    "low-error-rate-stays-quiet": {
        # 3% errors at a high request rate: a raw error *rate* would alert, the ratio does not.
        "interval": "1m",
        "input_series": [
            {"series": f'http_requests_total{{job="backend",namespace="{NS}",handler="/api/chat",status="2xx"}}',
             "values": "0+970x30"},
            {"series": f'http_requests_total{{job="backend",namespace="{NS}",handler="/api/chat",status="5xx"}}',
             "values": "0+30x30"},
        ],
        "alert_rule_test": [{"eval_time": "25m", "alertname": "HighErrorRate", "exp_alerts": []}],
    },
    "pod-not-ready": {
        "interval": "1m",
        "input_series": [
            {"series": f'kube_pod_status_ready{{namespace="{NS}",pod="backend-1",condition="false"}}',
             "values": "1x20"},
            {"series": f'kube_pod_status_phase{{namespace="{NS}",pod="backend-1",phase="Running"}}',
             "values": "1x20"},
            {"series": f'kube_pod_status_ready{{namespace="{NS}",pod="job-1",condition="false"}}', "values": "1x20"},
            {"series": f'kube_pod_status_phase{{namespace="{NS}",pod="job-1",phase="Running"}}', "values": "0x20"},
        ],
        "alert_rule_test": [{"eval_time": "15m", "alertname": "PodNotReady",
                             "exp_alerts": [expected("PodNotReady", {"namespace": NS, "pod": "backend-1"}, 1)]}],
    },
    "kafka-offline-partitions": {
        "interval": "1m",
        "input_series": [
            {"series": f'kafka_controller_kafkacontroller_offlinepartitionscount{{job="kafka-broker",namespace="{NS}",'
                       'pod="todo-chatbot-kafka-dual-role-0"}', "values": "0 0 3x10"},
        ],
        "alert_rule_test": [{"eval_time": "6m", "alertname": "KafkaOfflinePartitions",
                             "exp_alerts": [expected("KafkaOfflinePartitions", {"namespace": NS}, 3)]}],
    },
    "kafka-consumer-lag": {
        "interval": "1m",
        "input_series": [
            {"series": f'kafka_consumergroup_lag{{job="kafka-exporter",namespace="{NS}",consumergroup="audit",'
                       'topic="task-events",partition="0"}', "values": "5000x30"},
        ],
        "alert_rule_test": [{"eval_time": "20m", "alertname": "KafkaConsumerGroupLag", "exp_alerts": [
            expected("KafkaConsumerGroupLag", {"namespace": NS, "consumergroup": "audit", "topic": "task-events"},
                     5000)]}],
    },
    "postgres-dump-failed": {
        # The last run (scheduled at t=600 s) ended without success; the one before succeeded at t=100 s.
        "interval": "1m",
        "input_series": [
            {"series": f'kube_cronjob_status_last_schedule_time{{{DUMP}}}', "values": "600x20"},
            {"series": f'kube_cronjob_status_last_successful_time{{{DUMP}}}', "values": "100x20"},
            {"series": f'kube_cronjob_status_active{{{DUMP}}}', "values": "1 1 0x18"},
        ],
        "alert_rule_test": [{"eval_time": "10m", "alertname": "PostgresDumpFailed", "exp_alerts": [
            expected("PostgresDumpFailed", {"namespace": NS, "cronjob": "todo-chatbot-postgres-dump"}, 600)]}],
    },
    "postgres-dump-never-succeeded": {
        # The first run ever failed: there is no last successful time at all.
        "interval": "1m",
        "input_series": [
            {"series": f'kube_cronjob_status_last_schedule_time{{{DUMP}}}', "values": "600x20"},
            {"series": f'kube_cronjob_status_active{{{DUMP}}}', "values": "0x20"},
        ],
        "alert_rule_test": [{"eval_time": "10m", "alertname": "PostgresDumpFailed", "exp_alerts": [
            expected("PostgresDumpFailed", {"namespace": NS, "cronjob": "todo-chatbot-postgres-dump"}, 600)]}],
    },
    "postgres-dump-succeeded-or-running": {
        # The last run succeeded (at 700 s, after its schedule at 600 s); a later run is still going: no alert.
        "interval": "1m",
        "input_series": [
            {"series": f'kube_cronjob_status_last_schedule_time{{{DUMP}}}', "values": "600x10 1200x10"},
            {"series": f'kube_cronjob_status_last_successful_time{{{DUMP}}}', "values": "700x20"},
            {"series": f'kube_cronjob_status_active{{{DUMP}}}', "values": "0x10 1x10"},
        ],
        "alert_rule_test": [{"eval_time": "9m", "alertname": "PostgresDumpFailed", "exp_alerts": []},
                            {"eval_time": "19m", "alertname": "PostgresDumpFailed", "exp_alerts": []}],
    },
    "postgres-dump-missed": {
        # Due at t=0 and never started: more than an hour late after 60 minutes, paged 5 minutes later.
        "interval": "1m",
        "input_series": [
            {"series": f'kube_cronjob_next_schedule_time{{{DUMP}}}', "values": "0x90"},
        ],
        "alert_rule_test": [
            {"eval_time": "50m", "alertname": "PostgresDumpMissed", "exp_alerts": []},
            {"eval_time": "70m", "alertname": "PostgresDumpMissed", "exp_alerts": [
                expected("PostgresDumpMissed", {"namespace": NS, "cronjob": "todo-chatbot-postgres-dump"}, 4200)]}],
    },
    "velero-backup-failed-pages": {
        # one backup of schedule daily fails at 30m, one of six-hourly partly fails at 90m: each pages at once,
        # per schedule, and resolves an hour later without a new failure.
        "interval": "5m",
        "input_series": [
            {"series": f'velero_backup_failure_total{{job="velero",namespace="{NS}",pod="velero-1",schedule="daily"}}',
             "values": "0x5 1x30"},
            {"series": f'velero_backup_partial_failure_total{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="daily"}', "values": "0x36"},
            {"series": f'velero_backup_validation_failure_total{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="daily"}', "values": "0x36"},
            {"series": f'velero_backup_failure_total{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="six-hourly"}', "values": "0x36"},
            {"series": f'velero_backup_partial_failure_total{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="six-hourly"}', "values": "0x17 1x18"},
            {"series": f'velero_backup_validation_failure_total{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="six-hourly"}', "values": "0x36"},
        ],
        "alert_rule_test": [
            {"eval_time": "25m", "alertname": "VeleroBackupFailed", "exp_alerts": []},
            {"eval_time": "35m", "alertname": "VeleroBackupFailed",
             "exp_alerts": [expected("VeleroBackupFailed", {"namespace": NS, "schedule": "daily"}, 1)]},
            {"eval_time": "95m", "alertname": "VeleroBackupFailed",
             "exp_alerts": [expected("VeleroBackupFailed", {"namespace": NS, "schedule": "six-hourly"}, 1)]},
            {"eval_time": "160m", "alertname": "VeleroBackupFailed", "exp_alerts": []},
        ],
    },
    "velero-backup-not-run-pages": {
        # schedule daily last succeeded at time 0, six-hourly at 20h; old-schedule was deleted (no attempt
        # counter) but its backups still carry a success time. After 25h only daily pages (15m later).
        "interval": "1m",
        "input_series": [
            {"series": f'velero_backup_last_successful_timestamp{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="daily"}', "values": "0x1600"},
            {"series": f'velero_backup_attempt_total{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="daily"}', "values": "1x1600"},
            {"series": f'velero_backup_last_successful_timestamp{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="six-hourly"}', "values": "0x1200 72000x400"},
            {"series": f'velero_backup_attempt_total{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="six-hourly"}', "values": "4x1600"},
            {"series": f'velero_backup_last_successful_timestamp{{job="velero",namespace="{NS}",pod="velero-1",'
                       'schedule="old-schedule"}', "values": "0x1600"},
        ],
        "alert_rule_test": [
            {"eval_time": "24h", "alertname": "VeleroBackupNotRun", "exp_alerts": []},
            {"eval_time": "25h10m", "alertname": "VeleroBackupNotRun", "exp_alerts": []},
            {"eval_time": "26h", "alertname": "VeleroBackupNotRun",
             "exp_alerts": [expected("VeleroBackupNotRun", {"namespace": NS, "schedule": "daily"}, 1)]},
        ],
    },
    "velero-down": {
        # the Deployment wants a replica, the scrape fails: a ticket after 15 minutes; where Velero is not
        # installed (no Deployment, no target) nothing fires.
        "interval": "1m",
        "input_series": [
            {"series": f'kube_deployment_spec_replicas{{namespace="{NS}",deployment="velero"}}', "values": "1x40"},
            {"series": f'up{{job="velero",namespace="{NS}",pod="velero-1"}}', "values": "1x10 0x30"},
        ],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "VeleroDown", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "VeleroDown", "exp_alerts": []},
            {"eval_time": "30m", "alertname": "VeleroDown",
             "exp_alerts": [expected("VeleroDown", {"namespace": NS}, 1)]},
        ],
    },
    "velero-not-installed-stays-quiet": {
        "interval": "1m",
        "input_series": [
            {"series": f'kube_deployment_spec_replicas{{namespace="{NS}",deployment="todo-chatbot-backend"}}',
             "values": "2x60"},
        ],
        "alert_rule_test": [{"eval_time": "60m", "alertname": name, "exp_alerts": []}
                            for name in ("VeleroDown", "VeleroBackupNotRun", "VeleroBackupFailed")],
    },
}


def test_promtool_accepts_the_generated_rule_files(promtool: Path, rule_dir: Path) -> None:
    files = sorted(rule_dir.glob("*.rules.yaml"))
    out = run([promtool, "check", "rules", *files])
    assert out.stdout.count("SUCCESS") == len(files)


@pytest.mark.parametrize("case", sorted(CASES))
def test_promtool_unit_test(promtool: Path, rule_dir: Path, case: str) -> None:
    spec = {"rule_files": sorted(f.name for f in rule_dir.glob("*.rules.yaml")), "evaluation_interval": "1m",
            "tests": [CASES[case]]}
    test_file = rule_dir / f"{case}.test.yaml"
    test_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    run([promtool, "test", "rules", test_file], cwd=rule_dir)
