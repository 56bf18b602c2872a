"""CKV_TODO_DOKS_4: DOKS node pools autoscale between sane bounds (2 <= min_nodes <= max_nodes).

At least two nodes, so draining one for an upgrade or a failure leaves the workloads somewhere to run.
"""

from __future__ import annotations

from typing import Any

from _doks import as_bool, as_int, first
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

MIN_NODES = 2


def pool_result(pool: dict[str, Any]) -> CheckResult:
    """The verdict for one node pool (a cluster's node_pool block or a node pool resource)."""
    auto = as_bool(first(pool, "auto_scale"))
    low, high = as_int(first(pool, "min_nodes")), as_int(first(pool, "max_nodes"))
    if "auto_scale" in pool and auto is None:
        return CheckResult.UNKNOWN
    if not auto or "min_nodes" not in pool or "max_nodes" not in pool:
        return CheckResult.FAILED
    if low is None or high is None:
        return CheckResult.UNKNOWN
    return CheckResult.PASSED if MIN_NODES <= low <= high else CheckResult.FAILED


class DoksAutoscalingBounds(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"Ensure DOKS node pools autoscale with {MIN_NODES} <= min_nodes <= max_nodes",
            id="CKV_TODO_DOKS_4",
            categories=[CheckCategories.KUBERNETES],
            supported_resources=["digitalocean_kubernetes_cluster", "digitalocean_kubernetes_node_pool"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if "node_pool" in conf or "size" not in conf:
            pool = first(conf, "node_pool")
            if not isinstance(pool, dict):
                return CheckResult.FAILED
            return pool_result(pool)
        return pool_result(conf)


check = DoksAutoscalingBounds()
