"""CKV_TODO_K8S_4: a Dapr Component lists the app ids allowed to load it (`scopes`); an unscoped
component is loaded by every Dapr app of the namespace. (That each scope names an app that exists is a
cross-object rule: project gate `dapr-scopes` of `todo-cloud policy`.)"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class DaprComponentScoped(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(name="Dapr Component is scoped to app ids", id="CKV_TODO_K8S_4",
                         categories=[CheckCategories.GENERAL_SECURITY], supported_entities=["Component"])

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        self.evaluated_keys = ["scopes"]
        if not str(conf.get("apiVersion", "")).startswith("dapr.io/"):
            return CheckResult.UNKNOWN
        scopes = conf.get("scopes")
        return CheckResult.PASSED if isinstance(scopes, list) and scopes else CheckResult.FAILED


check = DaprComponentScoped()
