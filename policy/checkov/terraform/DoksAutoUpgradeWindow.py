"""CKV_TODO_DOKS_3: a DOKS cluster takes patch releases automatically, inside a declared maintenance window."""

from __future__ import annotations

from typing import Any

from _doks import as_bool, first
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class DoksAutoUpgradeWindow(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the DOKS cluster auto-upgrades within a maintenance window (auto_upgrade, maintenance_policy)",
            id="CKV_TODO_DOKS_3",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["digitalocean_kubernetes_cluster"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        auto = as_bool(first(conf, "auto_upgrade"))
        if "auto_upgrade" in conf and auto is None:
            return CheckResult.UNKNOWN
        if not auto:
            return CheckResult.FAILED
        window = first(conf, "maintenance_policy")
        if not isinstance(window, dict) or not first(window, "day") or not first(window, "start_time"):
            return CheckResult.FAILED
        return CheckResult.PASSED


check = DoksAutoUpgradeWindow()
