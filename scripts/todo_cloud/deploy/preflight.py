"""Preflight: every reason to refuse a deploy, decided before anything in the cluster changes.

Pure functions of (environment, cluster state, rendered release); each problem is one line that names
what is wrong (the context, the Secret, the image, the release state).
"""

from __future__ import annotations

from collections.abc import Iterable

from todo_cloud import envs
from todo_cloud.deploy.secrets import PULL_SECRET_KEY, RequiredSecret
from todo_cloud.deploy.state import ClusterState
from todo_cloud.envs import Environment
from todo_cloud.manifests import DIGESTED, Manifest, chart_of, containers, object_id

# Environments whose images of our own charts must be pinned by digest (image@sha256:<64 hex>).
DIGEST_REQUIRED = frozenset({"production"})


def check_context(env: Environment, state: ClusterState) -> list[str]:
    """The kubeconfig's current context must be the one config/environments.yaml gives the environment."""
    if state.context == env.kube_context:
        return []
    if state.context is None:
        return [f"kube context: the kubeconfig has no current context; environment {env.name!r} needs "
                f"{env.kube_context!r} (config/environments.yaml)"]
    owner = [e.name for e in envs.all_environments().values() if e.kube_context == state.context]
    whose = f", the context of environment {owner[0]!r}" if owner else ""
    return [f"kube context: current context is {state.context!r}{whose}, but environment {env.name!r} "
            f"deploys only to {env.kube_context!r} (config/environments.yaml kubeContext)"]


def check_release(env: Environment, state: ClusterState) -> list[str]:
    """A release left pending by another (or an interrupted) deploy is not touched."""
    pending = state.pending
    if pending is None:
        return []
    return [f"release {env.namespace}/{env.release}: revision {pending.revision} is {pending.status} "
            f"(another deploy is running or was interrupted); see docs/RUNBOOK.md 'Rollback'"]


def _version(text: str) -> tuple[int, ...]:
    core = text.split("+", 1)[0].split("-", 1)[0]
    return tuple(int(p) for p in core.split(".") if p.isdigit())


def check_chart_version(env: Environment, state: ClusterState, chart: str, version: str) -> list[str]:
    """A deploy never takes the release back to an older chart version (that is a rollback's job)."""
    deployed = state.deployed
    prefix = f"{chart}-"
    if not version or deployed is None or not deployed.chart.startswith(prefix):
        return []
    running = deployed.chart.removeprefix(prefix)
    if _version(running) <= _version(version):
        return []
    return [f"chart version: release {env.namespace}/{env.release} runs {deployed.chart}, newer than {version} "
            f"of this tree; a deploy never goes back a chart version (docs/DEPLOYMENT.md 'Rollback by hand')"]


def check_apis(manifests: Iterable[Manifest], state: ClusterState, from_crds: set[str]) -> list[str]:
    """Every API group/version the release uses is served by the cluster or comes with the CRDs that the
    deploy applies first; anything else (e.g. Gateway API, cert-manager) must be installed beforehand."""
    missing: dict[str, list[str]] = {}
    for o in manifests:
        api = str(o.get("apiVersion", ""))
        if api and api not in state.api_versions and api not in from_crds:
            missing.setdefault(api, []).append(f"{o.get('kind')}/{o.get('metadata', {}).get('name')}")
    return [f"API {api}: the cluster does not serve it and no pinned chart brings its CRDs (used by "
            f"{', '.join(users[:4])}{', ...' if len(users) > 4 else ''}); install it first, see docs/DEPLOYMENT.md "
            "'Install order'" for api, users in sorted(missing.items())]


def _remedy(env: Environment | None, r: RequiredSecret) -> str:
    """What makes a missing Secret exist: DOKS's registry integration for the environment's pull Secret,
    else a person (docs/DEPLOYMENT.md)."""
    do = env.digitalocean if env else None
    if do is not None and r.ref.name == do.pull_secret and PULL_SECRET_KEY in r.keys:
        return (f"DOKS's registry integration puts it in every namespace once the cluster is integrated with "
                f"registry {do.registry!r} (terraform/doks.tf registry_integration, or `doctl kubernetes cluster "
                f"registry add {do.cluster}`); see docs/DEPLOYMENT.md 'Images'")
    return "create it first, see docs/DEPLOYMENT.md 'Secrets to create'"


def check_secrets(required: Iterable[RequiredSecret], state: ClusterState, env: Environment | None = None) -> list[str]:
    """Every Secret the release needs but does not create must exist."""
    return [f"missing Secret {r.ref} (referenced by {', '.join(r.referenced_by)}); {_remedy(env, r)}"
            for r in required if (r.ref.namespace, r.ref.name) not in state.secrets]


def check_digests(env: Environment, manifests: Iterable[Manifest], charts: set[str]) -> list[str]:
    """In production every image of our own charts is pinned by digest, never by tag alone."""
    if env.name not in DIGEST_REQUIRED:
        return []
    return [f"image of {object_id(o, env.namespace)} container {name!r} is {image!r}: environment "
            f"{env.name!r} deploys images by digest only (image@sha256:...)"
            for o in manifests if chart_of(o) in charts
            for name, image in ((c.get("name", "?"), str(c.get("image", ""))) for c in containers(o))
            if not DIGESTED.search(image)]


def check(
    env: Environment,
    state: ClusterState,
    manifests: list[Manifest],
    required: list[RequiredSecret],
    charts: set[str],
    chart: tuple[str, str] = ("", ""),
    from_crds: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[str]:
    """All problems, in the order a person would fix them; an empty list means the deploy may go on.
    `chart` is the (name, version) of the chart being deployed, `from_crds` the group/versions that the
    deploy's CRD phase brings.

    With a wrong context nothing else was read from the cluster: release and Secrets are not judged then.
    """
    problems = check_context(env, state)
    if not problems and state.complete:
        problems += [*check_release(env, state), *check_chart_version(env, state, *chart),
                     *check_apis(manifests, state, from_crds), *check_secrets(required, state, env)]
    return problems + check_digests(env, manifests, charts)
