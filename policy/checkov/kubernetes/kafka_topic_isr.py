"""CKV_TODO_K8S_3: a KafkaTopic's replicas exceed its min.insync.replicas, so one broker can be lost
without the topic refusing writes. A single-replica topic passes here: whether its cluster has more than
one broker (and the cluster-wide default) is judged across objects by the project gate
`kafka-topic-min-isr` of `todo-cloud policy`."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check


class KafkaTopicReplicasAboveMinIsr(BaseK8Check):
    def __init__(self) -> None:
        super().__init__(name="KafkaTopic replicas > min.insync.replicas", id="CKV_TODO_K8S_3",
                         categories=[CheckCategories.GENERAL_SECURITY], supported_entities=["KafkaTopic"])

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        spec = conf.get("spec") or {}
        self.evaluated_keys = ["spec/replicas", "spec/config/min.insync.replicas"]
        min_isr = (spec.get("config") or {}).get("min.insync.replicas")
        if min_isr is None:
            return CheckResult.PASSED
        try:
            replicas, min_isr = int(spec.get("replicas", 0)), int(min_isr)
            return CheckResult.PASSED if replicas > min_isr or replicas == min_isr == 1 else CheckResult.FAILED
        except (TypeError, ValueError):
            return CheckResult.FAILED


check = KafkaTopicReplicasAboveMinIsr()
