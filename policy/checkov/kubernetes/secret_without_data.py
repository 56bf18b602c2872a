"""CKV_TODO_K8S_2: a Secret rendered by a chart carries no data: secret material never comes from values;
charts reference Secrets created outside the release (existingSecret)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class SecretWithoutData(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(name="Secret carries no data from values", id="CKV_TODO_K8S_2",
                         categories=[CheckCategories.SECRETS], supported_entities=["Secret"])

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["data", "stringData"]
        values = [*(conf.get("data") or {}).values(), *(conf.get("stringData") or {}).values()]
        return CheckResult.FAILED if any(values) else CheckResult.PASSED


check = SecretWithoutData()
