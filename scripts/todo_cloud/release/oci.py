"""The digest an OCI registry serves for an image tag (the distribution API's manifest endpoint).

`resolve("quay.io/prometheus/prometheus", "v3.14.0")` asks `https://quay.io/v2/prometheus/prometheus/
manifests/v3.14.0` for the manifest (a multi-platform index where there is one) and returns its digest, the
one a pod pinned by `@sha256:...` pulls on every platform. Docker Hub names follow Docker's rules (no registry
means docker.io, served by registry-1.docker.io; one path component means `library/`). A 401 with a Bearer
challenge is answered with an anonymous token from the realm it names (public images need no credentials).

`mirror`: a registry that holds the images under their full names (`<mirror>/<registry>/<path>`), for air-gapped
installs and for the tests' local registry; `http://` is accepted there only.

`push_archive` pushes an image from an OCI image layout tar unchanged (the reference images of workloads/, built
once by the delivery pipeline), with credentials where the registry asks for them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# --- pushing an image built elsewhere ------------------------------------------------------------------------
# An OCI image layout in a tar (what `docker buildx build --output type=oci,dest=...` writes) is pushed as it
# is: the same manifest bytes, so the same digest, to every registry it goes to. That is how one build is
# recorded once and deployed by that digest from each environment's registry.

INDEX_TYPES = {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
MANIFEST_TYPES_PUSHED = INDEX_TYPES | {"application/vnd.oci.image.manifest.v1+json",
                                       "application/vnd.docker.distribution.manifest.v2+json"}


class ArchiveError(RuntimeError):
    """An image archive that is not one image in the OCI layout; the message names the archive and the fault."""


@dataclass(frozen=True)
class Credentials:
    """Registry credentials (DigitalOcean's registry takes an API token as both)."""

    username: str
    password: str

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


class ImageArchive:
    """One image in an OCI image layout tar: `digest` is what a registry will serve it as."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with tarfile.open(path) as tar:
                self._files = {m.name.removeprefix("./"): tar.extractfile(m).read()  # type: ignore[union-attr]
                               for m in tar.getmembers() if m.isfile()}
        except (OSError, tarfile.TarError) as exc:
            raise ArchiveError(f"{path}: not a readable tar ({exc})") from None
        if "index.json" not in self._files:
            raise ArchiveError(f"{path}: no index.json, not an OCI image layout")
        manifests = json.loads(self._files["index.json"]).get("manifests") or []
        if len(manifests) != 1:
            raise ArchiveError(f"{path}: index.json lists {len(manifests)} manifests, expected the one image")
        self.top: dict = manifests[0]
        if self.top.get("mediaType") not in MANIFEST_TYPES_PUSHED:
            raise ArchiveError(f"{path}: index.json points at a {self.top.get('mediaType')!r}, not an image")

    @property
    def digest(self) -> str:
        return str(self.top["digest"])

    def verify(self, descriptor: dict | None = None) -> None:
        """Every blob the image references is in the archive and hashes to its digest (ArchiveError naming the
        first that does not): checked before anything is pushed, so that a push is never half done."""
        descriptor = descriptor or self.top
        manifest = json.loads(self.blob(descriptor["digest"]))
        if descriptor.get("mediaType") in INDEX_TYPES:
            for child in manifest.get("manifests") or []:
                self.verify(child)
            return
        for blob in [manifest["config"], *manifest.get("layers", [])]:
            self.blob(blob["digest"])

    def blob(self, digest: str) -> bytes:
        """The bytes of a blob, checked against its digest."""
        data = self._files.get("blobs/" + digest.replace(":", "/"))
        if data is None:
            raise ArchiveError(f"{self.path}: blob {digest} is missing")
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise ArchiveError(f"{self.path}: blob {digest} does not hash to its digest")
        return data


class _Client:
    """HTTP calls to one repository of a registry, answering Bearer and Basic challenges with the credentials."""

    def __init__(self, repository: str, credentials: Credentials | None) -> None:
        self.location = locate(repository)
        host = self.location.base.removeprefix("https://")
        if host.split(":")[0] in ("127.0.0.1", "localhost"):  # plain http only on loopback (the tests' registry)
            self.location = Location(f"http://{host}", self.location.path)
        self.repository = repository
        self.credentials = credentials
        self.authorization: str | None = None

    def url(self, tail: str) -> str:
        return f"{self.location.base}/v2/{self.location.path}/{tail}"

    def call(self, method: str, url: str, data: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
        """(status, headers, body); a 401 is answered once with a token or Basic credentials, then retried."""
        for attempt in range(2):
            sent = dict(headers or {})
            if self.authorization:
                sent["Authorization"] = self.authorization
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=sent),
                                            timeout=TIMEOUT) as answer:
                    return answer.status, answer.headers, answer.read()
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and attempt == 0:
                    self.authorization = self._authorize(exc.headers.get("WWW-Authenticate", ""))
                    continue
                if method == "HEAD" and exc.code == 404:
                    return 404, exc.headers, b""
                detail = exc.read().decode(errors="replace").strip()[:300]
                raise RegistryError(f"{self.repository}: {method} {url}: HTTP {exc.code} {exc.reason} {detail}"
                                    ) from None
            except OSError as exc:
                raise RegistryError(f"{self.repository}: registry unreachable ({url}): "
                                    f"{getattr(exc, 'reason', exc)}") from None
        raise RegistryError(f"{self.repository}: refused even with credentials ({method} {url})")

    def _authorize(self, header: str) -> str:
        if header.lower().startswith("basic"):
            if not self.credentials:
                raise RegistryError(f"{self.repository}: the registry asks for credentials and none were given")
            return self.credentials.basic()
        challenge = parse_challenge(header)
        realm = challenge.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(f"{self.repository}: the registry asks for credentials without a token realm")
        # one token for everything a push does (a HEAD's challenge asks for pull only)
        scope = f"repository:{self.location.path}:pull,push"
        query = urllib.parse.urlencode({"service": challenge.get("service", ""), "scope": scope})
        request = urllib.request.Request(f"{realm}?{query}")
        if self.credentials:
            request.add_header("Authorization", self.credentials.basic())
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                body = json.load(answer)
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{self.repository}: no token from {realm}: {exc}") from None
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"{self.repository}: the token answer of {realm} holds no token")
        return f"Bearer {token}"


def _push_blob(client: _Client, archive: ImageArchive, digest: str) -> None:
    status, _, _ = client.call("HEAD", client.url(f"blobs/{digest}"))
    if status == 200:
        return
    _, headers, _ = client.call("POST", client.url("blobs/uploads/"), data=b"")
    location = headers.get("Location") or ""
    if not location.startswith(("http://", "https://")):
        location = client.location.base + location
    separator = "&" if "?" in location else "?"
    client.call("PUT", f"{location}{separator}digest={urllib.parse.quote(digest)}", data=archive.blob(digest),
                headers={"Content-Type": "application/octet-stream"})


def _push_manifest(client: _Client, archive: ImageArchive, descriptor: dict, reference: str) -> None:
    body = archive.blob(descriptor["digest"])
    manifest = json.loads(body)
    if descriptor["mediaType"] in INDEX_TYPES:
        for child in manifest.get("manifests") or []:
            _push_manifest(client, archive, child, child["digest"])
    else:
        for blob in [manifest["config"], *manifest.get("layers", [])]:
            _push_blob(client, archive, blob["digest"])
    _, headers, _ = client.call("PUT", client.url(f"manifests/{reference}"), data=body,
                                headers={"Content-Type": descriptor["mediaType"]})
    served = headers.get("Docker-Content-Digest")
    if served and served != descriptor["digest"]:
        raise RegistryError(f"{client.repository}:{reference}: the registry stored {served}, "
                            f"not the archive's {descriptor['digest']}")


def push_archive(archive: ImageArchive, repository: str, tag: str, credentials: Credentials | None = None) -> str:
    """Push the image of `archive` as `repository:tag` (its blobs, then its manifests as they are) and return
    the digest the registry serves for the tag, which is the archive's; RegistryError naming the image."""
    archive.verify()
    client = _Client(repository, credentials)
    _push_manifest(client, archive, archive.top, tag)
    _, headers, body = client.call("GET", client.url(f"manifests/{tag}"), headers={"Accept": MANIFEST_TYPES})
    served = headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
    if served != archive.digest:
        raise RegistryError(f"{repository}:{tag}: the registry serves {served}, not the pushed {archive.digest}")
    return served
