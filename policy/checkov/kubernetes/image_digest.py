"""CKV_TODO_K8S_1: every container image is pinned by a sha256 digest.

`todo-cloud policy` enforces it on the production manifests only (other environments may follow tags).
"""

from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckResult
from checkov.kubernetes.checks.resource.base_container_check import BaseK8sContainerCheck

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


class ImagePinnedByDigest(BaseK8sContainerCheck):
    def __init__(self) -> None:
        super().__init__(name="Image is pinned by a sha256 digest (production)", id="CKV_TODO_K8S_1")

    def scan_container_conf(self, metadata: dict[str, Any], conf: dict[str, Any]) -> CheckResult:
        self.evaluated_container_keys = ["image"]
        image = conf.get("image")
        return CheckResult.PASSED if isinstance(image, str) and DIGEST.search(image) else CheckResult.FAILED


check = ImagePinnedByDigest()
