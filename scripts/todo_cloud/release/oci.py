"""The digest an OCI registry serves for an image tag (the distribution API's manifest endpoint).

`resolve("quay.io/prometheus/prometheus", "v3.14.0")` asks `https://quay.io/v2/prometheus/prometheus/
manifests/v3.14.0` for the manifest (a multi-platform index where there is one) and returns its digest, the
one a pod pinned by `@sha256:...` pulls on every platform. Docker Hub names follow Docker's rules (no registry
means docker.io, served by registry-1.docker.io; one path component means `library/`). A 401 with a Bearer
challenge is answered with an anonymous token from the realm it names (public images need no credentials).

`mirror`: a registry that holds the images under their full names (`<mirror>/<registry>/<path>`), for air-gapped
installs and for the tests' local registry; `http://` is accepted there only.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TIMEOUT = 30


class RegistryError(RuntimeError):
    """A tag whose digest cannot be had; the message names the image and why."""


@dataclass(frozen=True)
class Location:
    """Where a repository is served: base URL of the registry and the repository's path there."""

    base: str
    path: str


def locate(repository: str, mirror: str | None = None) -> Location:
    """The registry URL and path of `repository` (`[registry/]path`), directly or through `mirror`."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", repository
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    if mirror:
        parsed = urllib.parse.urlsplit(mirror if "://" in mirror else f"https://{mirror}")
        if parsed.scheme not in ("https", "http"):
            raise RegistryError(f"--mirror {mirror}: expected https://host[:port][/prefix]")
        prefix = parsed.path.strip("/")
        return Location(f"{parsed.scheme}://{parsed.netloc}", "/".join(p for p in (prefix, registry, path) if p))
    host = "registry-1.docker.io" if registry == "docker.io" else registry
    return Location(f"https://{host}", path)


def parse_challenge(header: str) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` header."""
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return {}
    return {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', params)}


def _token(challenge: dict[str, str], image: str) -> str:
    realm = challenge.get("realm")
    if not realm or not realm.startswith(("https://", "http://")):
        raise RegistryError(f"{image}: the registry asks for credentials without a token realm")
    query = urllib.parse.urlencode({k: v for k, v in challenge.items() if k in ("service", "scope")})
    try:
        with urllib.request.urlopen(f"{realm}?{query}" if query else realm, timeout=TIMEOUT) as answer:
            body = json.load(answer)
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{image}: no anonymous token from {realm}: {exc}") from None
    token = body.get("token") or body.get("access_token")
    if not token:
        raise RegistryError(f"{image}: the token answer of {realm} holds no token")
    return str(token)


def _fetch(url: str, token: str | None) -> tuple[str | None, bytes]:
    headers = {"Accept": MANIFEST_TYPES}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT) as answer:
        return answer.headers.get("Docker-Content-Digest"), answer.read()


def resolve(repository: str, tag: str, mirror: str | None = None) -> str:
    """`sha256:<hex>` of `repository:tag`; RegistryError naming the image when the registry will not say."""
    image = f"{repository}:{tag}"
    where = locate(repository, mirror)
    url = f"{where.base}/v2/{where.path}/manifests/{urllib.parse.quote(tag)}"
    token = None
    for _attempt in range(2):
        try:
            header_digest, body = _fetch(url, token)
            break
        except urllib.error.HTTPError as exc:
            challenge = parse_challenge(exc.headers.get("WWW-Authenticate", "")) if exc.code == 401 else {}
            if challenge and token is None:
                token = _token(challenge, image)
                continue
            reason = "no such tag" if exc.code == 404 else f"HTTP {exc.code} {exc.reason}"
            raise RegistryError(f"{image}: {reason} at {url}") from None
        except OSError as exc:
            raise RegistryError(f"{image}: registry unreachable ({url}): {getattr(exc, 'reason', exc)}") from None
    else:  # pragma: no cover - the loop breaks or raises
        raise RegistryError(f"{image}: refused even with a token ({url})")
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if header_digest and header_digest != digest:
        raise RegistryError(f"{image}: the registry says {header_digest} but the manifest hashes to {digest}")
    return digest
