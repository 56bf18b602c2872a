"""Certificates and kubeconfigs of the simulated cluster: an EC CA, the API server's serving certificate,
client certificates for the admin and each component, the service-account key pair (openssl)."""

from __future__ import annotations

from pathlib import Path

import yaml

from todo_cloud.run import run

# The cluster name in every kubeconfig (the admin's context is the environment's, see Cluster).
CLUSTER_NAME = "todo-sim"


def _openssl(*args: str | Path, input: str | None = None) -> None:
    run(["openssl", *args], input=input)


def make_pki(pki: Path) -> None:
    """An EC CA, the API server's serving cert, client certs and the service-account key pair."""
    pki.mkdir(parents=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", pki / "ca.key", "-out", pki / "ca.crt", "-days", "2",
             "-subj", "/CN=todo-sim-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    sans = ("IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
            "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local")
    certs = {
        "apiserver": ("/CN=kube-apiserver", "serverAuth", sans),
        "admin": ("/O=system:masters/CN=todo-sim-admin", "clientAuth", ""),
        "kcm": ("/CN=system:kube-controller-manager", "clientAuth", ""),
        "scheduler": ("/CN=system:kube-scheduler", "clientAuth", ""),
        "kwok": ("/O=system:masters/CN=kwok-controller", "clientAuth", ""),
        "front-proxy-client": ("/CN=front-proxy-client", "clientAuth", ""),
    }
    for name, (subject, usage, alt) in certs.items():
        ext = pki / f"{name}.ext"
        ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                       f"extendedKeyUsage={usage}\n" + (f"subjectAltName={alt}\n" if alt else ""))
        _openssl("req", "-new", *ec, "-keyout", pki / f"{name}.key", "-out", pki / f"{name}.csr", "-subj", subject)
        _openssl("x509", "-req", "-in", pki / f"{name}.csr", "-CA", pki / "ca.crt", "-CAkey", pki / "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", pki / f"{name}.crt", "-extfile", ext)
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", pki / "sa.key")
    _openssl("ec", "-in", pki / "sa.key", "-pubout", "-out", pki / "sa.pub")


def kubeconfig(path: Path, server: str, pki: Path, user: str, context: str) -> Path:
    """A kubeconfig for `user` (client cert pki/<user>.crt) whose one context is named `context`."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": server,
                                                        "certificate-authority": str(pki / "ca.crt")}}],
        "users": [{"name": user, "user": {"client-certificate": str(pki / f"{user}.crt"),
                                          "client-key": str(pki / f"{user}.key")}}],
        "contexts": [{"name": context, "context": {"cluster": CLUSTER_NAME, "user": user}}],
        "current-context": context,
    }, sort_keys=False))
    return path
