"""The copies of config/environments.yaml's facts in Terraform's files and the environments' values files
(todo_cloud.env_facts): the generated block of each terraform/environments/<env>.tfvars, each
<env>.s3.tfbackend, and the keys of values/<env>.yaml its header lists."""

from __future__ import annotations

from pathlib import Path

from todo_cloud import env_facts


def generate() -> dict[Path, str]:
    return env_facts.rendered()
