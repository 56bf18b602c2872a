"""Security of the whole release, offline on the rendered umbrella of each environment: every pod template of
the release namespace meets Pod Security "restricted" (the simulated cluster checks the same with the real
admission), and no Role of the release grants Secret access outside its own namespaces."""

from __future__ import annotations

import pytest

from todo_cloud import envs
from todo_cloud.render import Manifest

POD_TEMPLATES = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                   "projected", "secret", "name"}


def pod_spec(doc: Manifest) -> dict:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def violations(spec: dict) -> list[str]:
    """What Pod Security "restricted" (latest) would refuse in a pod spec."""
    found: list[str] = []
    pod_ctx = spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            found.append(flag)
    for volume in spec.get("volumes") or []:
        extra = set(volume) - ALLOWED_VOLUMES
        if extra:
            found.append(f"volume {volume['name']}: {sorted(extra)}")
    for c in (spec.get("initContainers") or []) + spec["containers"]:
        ctx = c.get("securityContext") or {}
        name = c["name"]
        if ctx.get("privileged"):
            found.append(f"{name}: privileged")
        if ctx.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if not ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot")):
            found.append(f"{name}: runAsNonRoot is not true")
        if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
            found.append(f"{name}: runAsUser 0")
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"{name}: seccompProfile {seccomp}")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"{name}: capabilities not dropped (ALL)")
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            found.append(f"{name}: adds {caps['add']}")
    return found


@pytest.mark.upstream
def test_every_pod_of_the_release_namespace_meets_restricted(release: list[Manifest], env_name: str) -> None:
    namespace = envs.get(env_name).namespace
    refused = {
        f"{d['kind']}/{d['metadata']['name']}": v
        for d in release
        if d["kind"] in POD_TEMPLATES and (d["metadata"].get("namespace") or namespace) == namespace
        and (v := violations(pod_spec(d)))
    }
    assert refused == {}


def test_the_check_itself_refuses_what_restricted_refuses() -> None:
    spec = {"hostNetwork": True, "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}],
            "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}
    found = violations(spec)
    for expected in ("hostNetwork", "volume logs: ['hostPath']", "c: allowPrivilegeEscalation is not false",
                     "c: runAsNonRoot is not true", "c: seccompProfile None", "c: capabilities not dropped (ALL)",
                     "c: adds ['NET_ADMIN']"):
        assert expected in found


@pytest.mark.upstream
def test_no_role_of_the_release_grants_secret_access_outside_its_namespaces(
        release: list[Manifest], env_name: str) -> None:
    ours = set(envs.get(env_name).namespaces)
    outside = [
        f"{d['kind']}/{d['metadata'].get('namespace')}/{d['metadata']['name']}"
        for d in release
        if d["kind"] == "Role" and d["metadata"].get("namespace") not in (None, *ours)
        and any("secrets" in (rule.get("resources") or []) for rule in d.get("rules") or [])
    ]
    assert outside == []
