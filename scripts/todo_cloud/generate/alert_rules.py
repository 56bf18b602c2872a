"""Prometheus rule files of the platform chart, one per group, from config/slos.yaml (SLO recording rules
and multi-window, multi-burn-rate alerts) and config/observability/alerts.yaml.

Writes charts/platform/rules/<group>.rules.yaml; the platform chart ships each as a PrometheusRule
(templates/monitoring/prometheusrules.yaml). Generation fails, naming the item, on invalid PromQL, a metric
no scrape target collects, a missing severity/summary/description, a rule without a RUNBOOK.md section, an
SLO objective outside (0, 1), or a malformed retention value in the umbrella or environment values.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from todo_cloud.generate import header
from todo_cloud.observability import retention, rules
from todo_cloud.paths import CHARTS

RULES_DIR = CHARTS / "platform" / "rules"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render_group(name: str, group_rules: list[dict]) -> str:
    """One rule file (Prometheus' `groups:` format) with the generated-file header."""
    body = yaml.dump({"groups": [{"name": f"todo-chatbot.{name}", "rules": group_rules}]},
                     Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
    return f"{header('alert_rules')}\n{body}"


def generate() -> dict[Path, str]:
    retention.check_environments()
    return {RULES_DIR / f"{name}.rules.yaml": render_group(name, group_rules)
            for name, group_rules in rules.rule_groups().items()}
