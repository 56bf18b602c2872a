"""Settings from the environment; secrets from the files the chart mounts (NAME_FILE names the file)."""

from __future__ import annotations

import os
from pathlib import Path

# Where the chart mounts Secret keys, one file per NAME (charts/app, app.secretsDir).
SECRETS_DIR = Path("/var/run/secrets/todo-chatbot")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable (and the file)."""


def env_str(name: str, default: str) -> str:
    """The variable `name`, or `default` when unset or empty."""
    return os.environ.get(name) or default


def env_int(name: str, default: int) -> int:
    """The variable `name` as an integer, or `default`; ConfigError naming it when it is not a number."""
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None


def secret_file(name: str, *, required: bool) -> str | None:
    """The content of the file named by `<name>_FILE` (trailing newline stripped).

    None when the variable is unset and not `required`; ConfigError naming the variable, the file and where
    the chart mounts it when it is required but unset, or set but unreadable or empty.
    """
    var = f"{name}_FILE"
    path = os.environ.get(var)
    if not path:
        if required:
            raise ConfigError(f"{var} is not set: the service reads {name} from the file it names (the chart "
                              f"mounts it at {SECRETS_DIR / name})")
        return None
    try:
        value = Path(path).read_text().rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"{var}={path}: cannot read the file ({exc.strerror})") from None
    if not value:
        raise ConfigError(f"{var}={path}: the file is empty")
    return value
