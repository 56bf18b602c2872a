"""The phased install as data: (environment, cluster state, rendered release) -> ordered steps.

0. namespaces: the environment's namespaces, each labelled with the Pod Security level it enforces
   (config/environments.yaml), applied server-side on every deploy so the labels cannot drift;
1. crds: the CRDs of the pinned chart archives, applied server-side (every install and upgrade);
2. infrastructure (first install only): the release with `global.workloads.enabled=false`, then a wait
   until the Dapr sidecar injector is available (app pods created before it would start without sidecar);
3. statefulsets (upgrades only): each StatefulSet of the release whose claim templates differ from the running
   one's (a profile switch, a new volume size: Kubernetes refuses to change them) is deleted with
   `--cascade=orphan`, its pods and volumes left running, for the release to create it again;
   release: the full release, `--rollback-on-failure`, bounded wait, timeout and history;
4. health: `helm test`, then the rollout status of every Deployment and StatefulSet of the release.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from todo_cloud.deploy.state import ClusterState, claim_shapes
from todo_cloud.envs import Environment, namespace_objects
from todo_cloud.paths import UMBRELLA
from todo_cloud.render import Manifest

FIELD_MANAGER = "todo-cloud-deploy"
# Deployment of the Dapr sidecar injector in the dapr chart.
DAPR_INJECTOR = "dapr-sidecar-injector"
# Helm 4 wait strategies the deploy accepts: kstatus-based `watcher` (also waits on custom resources such
# as Strimzi's Kafka, by their status conditions and observedGeneration) or `legacy` (pods, Deployments,
# StatefulSets, DaemonSets, Services, PVCs only).
WAIT_STRATEGIES = ("watcher", "legacy")


@dataclass(frozen=True)
class Options:
    """How to deploy: chart, values files (the environment's first), timeout, history, wait strategy."""

    values: tuple[Path, ...]
    chart: Path = UMBRELLA
    timeout: str = "15m"
    history_max: int = 10
    wait: str = "watcher"

    def __post_init__(self) -> None:
        if self.wait not in WAIT_STRATEGIES:
            raise ValueError(f"--wait: {self.wait!r} is not one of {', '.join(WAIT_STRATEGIES)}")
        if self.history_max < 1:
            raise ValueError(f"--history-max: {self.history_max} must be at least 1 (bounded, and a revision "
                             "to roll back to)")
        seconds(self.timeout)

    @property
    def timeout_seconds(self) -> float:
        return seconds(self.timeout)


@dataclass(frozen=True)
class Step:
    """One command of the deploy. `input` is its standard input (the CRD bundle), kept out of reprs."""

    phase: str
    title: str
    argv: tuple[str, ...]
    input: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Plan:
    """What the deploy will do, in order."""

    env: Environment
    first_install: bool
    steps: tuple[Step, ...]
    options: Options

    def describe(self) -> list[str]:
        kind = "first install (phased)" if self.first_install else "upgrade"
        lines = [f"deploy {self.env.name}: {kind} of release {self.env.namespace}/{self.env.release}"]
        lines += [f"  {i}. [{s.phase}] {s.title}" for i, s in enumerate(self.steps, 1)]
        return lines


def seconds(duration: str) -> float:
    """A Helm duration (`90s`, `15m`, `1h30m`) in seconds; raises ValueError naming a bad one."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    if not duration or parts is None:
        raise ValueError(f"--timeout: {duration!r} is not a duration like 90s, 15m or 1h30m")
    h, m, s = (int(g or 0) for g in parts.groups())
    return float(h * 3600 + m * 60 + s)


def helm_upgrade(env: Environment, opts: Options, *extra: str) -> tuple[str, ...]:
    """`helm upgrade --install` of the release: CRDs skipped (applied before), bounded wait and history."""
    argv = ["helm", "upgrade", env.release, str(opts.chart), "--install",
            "--namespace", env.namespace, "--create-namespace", "--kube-context", env.kube_context,
            "--skip-crds", "--rollback-on-failure", f"--wait={opts.wait}", "--timeout", opts.timeout,
            "--history-max", str(opts.history_max)]
    for v in opts.values:
        argv += ["--values", str(v)]
    return (*argv, *extra)


def rollback_argv(env: Environment, revision: int, opts: Options) -> tuple[str, ...]:
    return ("helm", "rollback", env.release, str(revision), "--namespace", env.namespace,
            "--kube-context", env.kube_context, f"--wait={opts.wait}", "--timeout", opts.timeout,
            "--history-max", str(opts.history_max))


def workloads(manifests: list[Manifest], namespace: str) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every Deployment and StatefulSet with a rollout to watch.

    Hooks are left out (they are not part of the release's steady state), and so are StatefulSets with
    the OnDelete strategy (`kubectl rollout status` cannot follow them).
    """
    found = []
    for obj in manifests:
        meta = obj.get("metadata", {})
        if obj.get("kind") not in ("Deployment", "StatefulSet") or "helm.sh/hook" in (meta.get("annotations") or {}):
            continue
        if ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type") == "OnDelete":
            continue
        found.append((obj["kind"], meta.get("namespace") or namespace, meta["name"]))
    return sorted(found)


def changed_claim_templates(manifests: list[Manifest], namespace: str, state: ClusterState
                            ) -> list[tuple[str, str, str]]:
    """(namespace, name, what changed) of each StatefulSet of the release that runs with other claim
    templates than the rendered ones."""
    changed = []
    for obj in manifests:
        if obj.get("kind") != "StatefulSet":
            continue
        meta = obj.get("metadata") or {}
        key = (meta.get("namespace") or namespace, meta["name"])
        live, want = state.statefulset_claims.get(key), claim_shapes(obj)
        if live is not None and live != want:
            changed.append((*key, f"{_shapes(live)} -> {_shapes(want)}"))
    return sorted(changed)


def _shapes(shapes: frozenset[tuple[str, str, float]]) -> str:
    return ", ".join(f"{name} {size / 2**30:g}Gi{' ' + cls if cls else ''}" for name, cls, size in sorted(shapes)) \
        or "none"


def namespace_manifests(env: Environment) -> str:
    """The environment's Namespaces with their Pod Security labels (envs.namespace_objects), one YAML stream."""
    return yaml.safe_dump_all(namespace_objects(env), sort_keys=False)


def build(env: Environment, state: ClusterState, manifests: list[Manifest], crd_bundle: str,
          opts: Options) -> Plan:
    """The steps of one deploy. `manifests` is the full release as rendered for this environment."""
    ctx = env.kube_context
    levels = ", ".join(f"{n}={lvl}" for n, lvl in sorted(env.namespaces.items()))
    steps = [Step("namespaces", f"apply namespaces with their Pod Security levels ({levels})",
                  ("kubectl", "apply", "--context", ctx, "--server-side", "--force-conflicts",
                   f"--field-manager={FIELD_MANAGER}", "--filename", "-"), namespace_manifests(env)),
             Step("crds", f"apply {crd_bundle.count('# Source: ')} CRD files server-side",
                  ("kubectl", "apply", "--context", ctx, "--server-side", "--force-conflicts",
                   f"--field-manager={FIELD_MANAGER}", "--filename", "-"), crd_bundle)]
    first = state.first_install
    if first:
        steps.append(Step("infrastructure", "install operators, Kafka and Dapr resources (no app workloads)",
                          helm_upgrade(env, opts, "--set", "global.workloads.enabled=false")))
        injector = [w for w in workloads(manifests, env.namespace) if w[0] == "Deployment" and w[2] == DAPR_INJECTOR]
        for _, ns, name in injector:
            steps.append(Step("infrastructure", f"wait until deployment/{name} is available",
                              ("kubectl", "wait", f"deployment/{name}", "--context", ctx, "--namespace", ns,
                               "--for=condition=Available", f"--timeout={opts.timeout}")))
    if not first:
        for ns, name, change in changed_claim_templates(manifests, env.namespace, state):
            steps.append(Step("statefulsets", f"recreate statefulset/{name} around its pods and volumes (claim "
                                              f"templates {change})",
                              ("kubectl", "delete", "statefulset", name, "--context", ctx, "--namespace", ns,
                               "--cascade=orphan", "--wait=true")))
    steps.append(Step("release", "upgrade the full release (rolls back by itself on failure)",
                      helm_upgrade(env, opts)))
    steps.append(Step("health", "helm test", ("helm", "test", env.release, "--namespace", env.namespace,
                                              "--kube-context", ctx, "--timeout", opts.timeout, "--logs")))
    for kind, ns, name in workloads(manifests, env.namespace):
        steps.append(Step("health", f"rollout status {kind.lower()}/{name}",
                          ("kubectl", "rollout", "status", f"{kind.lower()}/{name}", "--context", ctx,
                           "--namespace", ns, f"--timeout={opts.timeout}")))
    return Plan(env, first, tuple(steps), opts)
