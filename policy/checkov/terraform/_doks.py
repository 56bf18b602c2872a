"""Shared helpers of the DOKS checks: values as checkov hands them over (lists from the HCL parser)."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckResult


def first(conf: dict[str, Any], key: str) -> Any:
    """The value of `key` in a parsed resource or block, unwrapped from checkov's one-element list."""
    value = conf.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def as_bool(value: Any) -> bool | None:
    """True/False for HCL booleans (checkov may hand over "true"), None when unresolved."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    """An integer for HCL numbers (or numeric strings), None when unresolved (e.g. "var.x")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and int(value) == value:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def explicitly_true(conf: dict[str, Any], key: str) -> CheckResult:
    """PASSED when `key` is written down as true; FAILED when absent or false (provider defaults have
    changed before, so the setting must be explicit); UNKNOWN when it is not resolved (a variable)."""
    if key not in conf:
        return CheckResult.FAILED
    value = as_bool(first(conf, key))
    if value is None:
        return CheckResult.UNKNOWN
    return CheckResult.PASSED if value else CheckResult.FAILED
