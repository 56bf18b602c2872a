"""The local Docker engine as make up sees it: whether it runs, its images and containers (read only)."""

from __future__ import annotations

import json
import shutil
from typing import Any

from todo_cloud.run import run


def docker_missing() -> str | None:
    """Why Docker cannot be used here, in a few words, or None."""
    if not shutil.which("docker"):
        return "no docker client on PATH"
    try:
        if run(["docker", "info"], check=False, timeout=30).returncode != 0:
            return "no Docker engine is running (`docker info` fails)"
    except OSError as exc:
        return f"the docker client does not run ({exc})"
    return None


def missing_images(images: list[str]) -> list[str]:
    """The images that `docker image inspect` does not find."""
    return [i for i in images if run(["docker", "image", "inspect", i], check=False, timeout=30).returncode != 0]


def container_state(name: str) -> dict[str, Any] | None:
    """`docker inspect` of a container, or None when there is none of that name."""
    proc = run(["docker", "inspect", "--type", "container", name], check=False, timeout=30)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def container_env(state: dict[str, Any]) -> dict[str, str]:
    """The environment a container was started with (`Config.Env`)."""
    pairs = (e.split("=", 1) for e in (state.get("Config") or {}).get("Env") or [] if "=" in e)
    return dict(pairs)


def container_ip(state: dict[str, Any], network: str) -> str | None:
    net = ((state.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
    return net.get("IPAddress") or None
