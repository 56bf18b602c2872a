"""An S3-compatible object store on 127.0.0.1 for the restore drill: Versity's S3 gateway (versitygw, Apache-2.0;
versions.toml [go_tools.versitygw]) serving buckets from a folder.

`start()` runs the pinned build (the `versitygw` prerequisite of todo_cloud.prereqs) under the caller's supervisor
with a root key made for the run, in the region the storage location names (SigV4 signs the region: the gateway
refuses any other), its metadata in a sidecar folder (no extended attributes needed of the file system), bounded
by its answering HTTP. `ObjectStore.create_bucket`
creates a bucket through the S3 API itself (a SigV4-signed PUT); `ObjectStore.keys` lists what a bucket holds
(the folder's files, for failure messages and checks of what was written).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from todo_cloud.processes import LOOPBACK, Supervisor, http_status

START_TIMEOUT = 30.0
SERVICE = "s3"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class S3Error(RuntimeError):
    """The object store refused a request; the message carries its answer."""


@dataclass(frozen=True)
class Credentials:
    """The root key of a run's object store."""

    access_key: str
    secret_key: str

    @classmethod
    def generate(cls) -> Credentials:
        return cls("DRILL" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))

    def aws_file(self) -> str:
        """An AWS shared credentials file (what Velero reads through AWS_SHARED_CREDENTIALS_FILE)."""
        return f"[default]\naws_access_key_id={self.access_key}\naws_secret_access_key={self.secret_key}\n"


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_headers(method: str, url: str, region: str, credentials: Credentials, now: datetime.datetime,
                  payload_sha256: str = EMPTY_SHA256) -> dict[str, str]:
    """The headers of an AWS Signature Version 4 request with no query string (host, date, payload hash,
    Authorization)."""
    parts = urllib.parse.urlsplit(url)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload_sha256, "x-amz-date": stamp}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.quote(parts.path or "/"), "",
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload_sha256])
    scope = f"{day}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{credentials.secret_key}".encode(), day), region), SERVICE), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {**headers, "Authorization": f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
                                        f"SignedHeaders={signed}, Signature={signature}"}


@dataclass(frozen=True)
class ObjectStore:
    """A running object store: its endpoint, region, root key and the folder its buckets live in."""

    endpoint: str
    region: str
    credentials: Credentials
    root: Path
    log: Path

    def create_bucket(self, name: str) -> None:
        """Create bucket `name` through the S3 API; S3Error with the store's answer when it refuses."""
        url = f"{self.endpoint}/{urllib.parse.quote(name)}"
        body = (f'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>'
                f"{self.region}</LocationConstraint></CreateBucketConfiguration>").encode()
        headers = sigv4_headers("PUT", url, self.region, self.credentials, datetime.datetime.now(datetime.UTC),
                                hashlib.sha256(body).hexdigest())
        request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10):
                return
        except urllib.error.HTTPError as exc:
            raise S3Error(f"CreateBucket {name} at {self.endpoint}: HTTP {exc.code}: "
                          f"{exc.read().decode(errors='replace')[:500]}") from None

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Keys of the objects in `bucket` under `prefix`, sorted (read from the store's folder)."""
        base = self.root / bucket
        return sorted(str(p.relative_to(base)) for p in base.rglob("*")
                      if p.is_file() and str(p.relative_to(base)).startswith(prefix))


def start(sup: Supervisor, binary: Path, workdir: Path, region: str, *, name: str = "s3",
          timeout: float = START_TIMEOUT) -> ObjectStore:
    """Start the object store `binary` (versitygw) under `sup` (its data and metadata in `workdir`), bounded by
    its HTTP answer."""
    root, sidecar = workdir / "buckets", workdir / "metadata"
    root.mkdir(parents=True, exist_ok=True)
    sidecar.mkdir(parents=True, exist_ok=True)
    port = sup.free_port()
    credentials = Credentials.generate()
    sup.start(name, [binary, "--port", f"{LOOPBACK}:{port}", "--region", region, "--quiet",
                     "posix", "--sidecar", sidecar, root],
              env={"ROOT_ACCESS_KEY_ID": credentials.access_key, "ROOT_SECRET_ACCESS_KEY": credentials.secret_key,
                   "PATH": "/usr/bin:/bin"})
    endpoint = f"http://{LOOPBACK}:{port}"
    sup.wait_for(name, lambda: http_status(endpoint + "/") is not None, timeout=timeout,
                 what="the S3 gateway to answer HTTP")
    return ObjectStore(endpoint, region, credentials, root, sup.log(name))
