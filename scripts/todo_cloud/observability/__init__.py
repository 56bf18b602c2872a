"""Observability data of todo-chatbot-cloud: the metrics catalogue, SLOs, alert rules, dashboards.

The generators `todo_cloud.generate.alert_rules` and `todo_cloud.generate.dashboards` turn the data under
config/ into the files the platform chart ships; everything here validates its input and raises
ObservabilityError naming the offending item.
"""

from __future__ import annotations


class ObservabilityError(ValueError):
    """Bad observability input; the message names the file and the item (SLO, rule, panel, key)."""
