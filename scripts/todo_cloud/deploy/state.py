"""What the deploy reads from a cluster before deciding anything: read-only commands only."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from todo_cloud.deploy.runner import Result, Runner
from todo_cloud.envs import Environment
from todo_cloud.manifests import quantity, volume_claims

# A StatefulSet's claim template as the deploy compares them: name, StorageClass ("" for the default) and
# requested size in bytes.
ClaimShape = tuple[str, str, float]

# Helm release statuses: a revision that once served (deployed now, or superseded by a later one).
GOOD_STATUSES = ("deployed", "superseded")


class ObserveError(RuntimeError):
    """The cluster could not be read (unreachable, no permission); says which command failed and why."""


@dataclass(frozen=True)
class Revision:
    """One entry of `helm history`."""

    revision: int
    status: str
    chart: str = ""
    app_version: str = ""
    description: str = ""


@dataclass(frozen=True)
class ClusterState:
    """The cluster as the deploy found it. `complete` is False when the context was wrong and nothing
    else was read (no command runs against a cluster that is not the environment's)."""

    context: str | None
    secrets: frozenset[tuple[str, str]] = frozenset()
    history: tuple[Revision, ...] = ()
    complete: bool = True
    api_versions: frozenset[str] = frozenset()
    # (namespace, name) -> claim templates of each StatefulSet the cluster runs (read on upgrades only).
    statefulset_claims: Mapping[tuple[str, str], frozenset[ClaimShape]] = field(default_factory=dict)

    @property
    def deployed(self) -> Revision | None:
        """The revision serving now."""
        live = [r for r in self.history if r.status == "deployed"]
        return max(live, key=lambda r: r.revision) if live else None

    @property
    def first_install(self) -> bool:
        """No revision of the release has ever served: the phased first install applies."""
        return not any(r.status in GOOD_STATUSES for r in self.history)

    @property
    def pending(self) -> Revision | None:
        """The latest revision, when Helm left it in a pending-* state (a deploy running or interrupted)."""
        if not self.history:
            return None
        latest = max(self.history, key=lambda r: r.revision)
        return latest if latest.status.startswith("pending") else None


def last_good_revision(history: Iterable[Revision]) -> Revision | None:
    """The revision to roll back to after the deployed one failed its health check: the newest revision
    older than the deployed one that once served (superseded), never a failed one."""
    revisions = list(history)
    current = [r.revision for r in revisions if r.status == "deployed"]
    below = max(current) if current else max((r.revision for r in revisions), default=0) + 1
    good = [r for r in revisions if r.revision < below and r.status in GOOD_STATUSES]
    return max(good, key=lambda r: r.revision) if good else None


def parse_history(result: Result, release: str) -> tuple[Revision, ...]:
    """`helm history -o json` output; a release that does not exist has an empty history."""
    if not result.ok:
        if "not found" in result.stderr:
            return ()
        raise ObserveError(f"helm history {release} failed: {result.stderr.strip()}")
    entries = json.loads(result.stdout or "[]")
    return tuple(
        Revision(int(e["revision"]), str(e.get("status", "")), str(e.get("chart", "")),
                 str(e.get("app_version", "")), str(e.get("description", "")))
        for e in entries
    )


def history_argv(env: Environment) -> list[str]:
    return ["helm", "history", env.release, "--namespace", env.namespace, "--kube-context", env.kube_context,
            "--output", "json", "--max", "100"]


def observe(runner: Runner, env: Environment, namespaces: Iterable[str] = ()) -> ClusterState:
    """Read the current context; when it is the environment's, also the Secrets of `namespaces` (and the
    release namespace) and the release history."""
    ctx = runner(["kubectl", "config", "current-context"])
    context = ctx.stdout.strip() if ctx.ok and ctx.stdout.strip() else None
    if context != env.kube_context:
        return ClusterState(context, complete=False)
    secrets: set[tuple[str, str]] = set()
    for ns in sorted({env.namespace, *namespaces}):
        got = runner(["kubectl", "get", "secrets", "--context", env.kube_context, "--namespace", ns,
                      "--output", "name"])
        if not got.ok:
            raise ObserveError(f"listing the Secrets of namespace {ns} failed: {got.stderr.strip()}")
        secrets |= {(ns, line.split("/", 1)[-1]) for line in got.stdout.split() if line}
    history = parse_history(runner(history_argv(env)), env.release)
    apis = runner(["kubectl", "get", "--raw", "/apis", "--context", env.kube_context])
    if not apis.ok:
        raise ObserveError(f"reading the API groups the cluster serves failed: {apis.stderr.strip()}")
    return ClusterState(context, frozenset(secrets), history, api_versions=parse_api_groups(apis.stdout))


def parse_api_groups(text: str) -> frozenset[str]:
    """Group/versions of an APIGroupList (`GET /apis`), plus the core `v1`."""
    groups = json.loads(text or "{}").get("groups", [])
    return frozenset({"v1", *(v["groupVersion"] for g in groups for v in g.get("versions", []))})


def claim_shapes(doc: Mapping[str, Any]) -> frozenset[ClaimShape]:
    """The claim templates of a StatefulSet (rendered or live) as the deploy compares them."""
    return frozenset((c.claim, c.storage_class or "", quantity(c.size)) for c in volume_claims(doc))


def observe_claims(runner: Runner, env: Environment, namespaces: Iterable[str]
                   ) -> dict[tuple[str, str], frozenset[ClaimShape]]:
    """The claim templates of every StatefulSet in `namespaces` (Kubernetes never changes them in place)."""
    found: dict[tuple[str, str], frozenset[ClaimShape]] = {}
    for ns in sorted(set(namespaces)):
        got = runner(["kubectl", "get", "statefulsets", "--context", env.kube_context, "--namespace", ns,
                      "--output", "json"])
        if not got.ok:
            raise ObserveError(f"listing the StatefulSets of namespace {ns} failed: {got.stderr.strip()}")
        for item in json.loads(got.stdout or "{}").get("items") or []:
            found[(ns, item["metadata"]["name"])] = claim_shapes(item)
    return found
