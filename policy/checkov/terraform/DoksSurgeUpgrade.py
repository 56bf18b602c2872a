"""CKV_TODO_DOKS_2: a DOKS cluster upgrades nodes by surging (no capacity dip while nodes are replaced)."""

from __future__ import annotations

from typing import Any

from _doks import explicitly_true
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class DoksSurgeUpgrade(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the DOKS cluster uses surge upgrades (surge_upgrade = true)",
            id="CKV_TODO_DOKS_2",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["digitalocean_kubernetes_cluster"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return explicitly_true(conf, "surge_upgrade")


check = DoksSurgeUpgrade()
