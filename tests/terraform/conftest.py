"""Fixtures of the Terraform tests: the configuration parsed once with python-hcl2, and the real CLI."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from todo_cloud import terraform
from todo_cloud.paths import TERRAFORM

parse = terraform.parse_hcl


@pytest.fixture(scope="session")
def tf_files() -> dict[str, dict[str, Any]]:
    """Every .tf file of terraform/, parsed, by file name."""
    return {p.name: parse(p) for p in sorted(TERRAFORM.glob("*.tf"))}


@pytest.fixture(scope="session")
def variables(tf_files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Declared variables by name."""
    return {name: body for block in tf_files["variables.tf"]["variable"] for name, body in block.items()}


@pytest.fixture(scope="session")
def outputs(tf_files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Declared outputs by name."""
    return {name: body for block in tf_files["outputs.tf"]["output"] for name, body in block.items()}


@pytest.fixture(scope="session")
def resources(tf_files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every resource by address (type.name), across files."""
    found: dict[str, dict[str, Any]] = {}
    for parsed in tf_files.values():
        for block in parsed.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[f"{rtype}.{name}"] = body
    return found


@pytest.fixture(scope="session")
def tfvars() -> dict[str, dict[str, Any]]:
    """Each environment's tfvars, parsed."""
    return {env: parse(terraform.tfvars(env)) for env in terraform.environments()}


@pytest.fixture(scope="session")
def tofu(prerequisite: Callable[[str], Path]) -> Path:
    """The pinned OpenTofu binary (built by `make prereqs`); the tests fail with the reason where it is not."""
    return prerequisite(terraform.TOFU)
