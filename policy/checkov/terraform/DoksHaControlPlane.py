"""CKV_TODO_DOKS_1: a DOKS cluster runs the highly available control plane."""

from __future__ import annotations

from typing import Any

from _doks import explicitly_true
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class DoksHaControlPlane(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure the DOKS cluster runs the highly available control plane (ha = true)",
            id="CKV_TODO_DOKS_1",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["digitalocean_kubernetes_cluster"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        return explicitly_true(conf, "ha")


check = DoksHaControlPlane()
