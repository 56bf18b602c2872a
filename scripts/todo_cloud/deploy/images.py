"""`--image COMPONENT=REF`: the app images a deploy pins, as a values overlay of the app chart.

REF is a digest (`sha256:<64 hex>`, or any `repository@sha256:<64 hex>`, whose digest is taken) or, outside
the environments that require digests, a bare tag. The app chart takes them at
`app.components.<component>.image.{digest,tag}` (charts/app).
"""

from __future__ import annotations

import re

from todo_cloud.deploy.preflight import DIGEST_REQUIRED
from todo_cloud.envs import Environment

DIGEST = re.compile(r"^(?:[^@\s]+@)?(sha256:[0-9a-f]{64})$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
COMPONENT = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class ImageError(ValueError):
    """An --image argument that cannot be deployed; names the argument."""


def image_values(env: Environment, args: list[str]) -> dict:
    """The values overlay for `--image` arguments; raises ImageError naming the first bad one."""
    components: dict[str, dict] = {}
    for arg in args:
        name, sep, ref = arg.partition("=")
        if not sep or not COMPONENT.match(name):
            raise ImageError(f"--image {arg}: expected COMPONENT=DIGEST (e.g. backend=sha256:<64 hex>)")
        digest = DIGEST.match(ref)
        if digest:
            components[name] = {"image": {"digest": digest.group(1)}}
        elif env.name in DIGEST_REQUIRED:
            raise ImageError(f"--image {arg}: environment {env.name!r} deploys images by digest only "
                             "(sha256:<64 hex> or repository@sha256:<64 hex>), not by tag")
        elif TAG.match(ref):
            components[name] = {"image": {"tag": ref}}
        else:
            raise ImageError(f"--image {arg}: {ref!r} is neither a sha256 digest nor a tag")
    return {"app": {"components": components}} if components else {}
