"""Preflight: every reason to refuse a deploy, decided before anything in the cluster changes.

Pure functions of (environment, cluster state, rendered release); each problem is one line that names
what is wrong (the context, the Secret, the image, the release state).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from todo_cloud import envs
from todo_cloud.deploy.secrets import PULL_SECRET_KEY, RequiredSecret
from todo_cloud.deploy.state import ClusterState
from todo_cloud.envs import Environment
from todo_cloud.manifests import DIGESTED, Manifest, chart_of, containers, object_id
from todo_cloud.release import pins

# Environments whose every running image must be pinned by a real digest (image@sha256:<64 hex>): our charts'
# (deploy inputs: `--image`, the values) and the upstream charts' (`make pin-images ENV=<env>` writes them).
DIGEST_REQUIRED = frozenset({"production"})
# A digest that only holds a place in a values file (values/production.yaml ships sha256:000...0001 for each app
# image until the first promotion writes the real one): no image hashes to 48 leading zero digits.
PLACEHOLDER = re.compile(r"@sha256:0{48}[0-9a-f]{16}$")


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


def _owners(owners: list[str]) -> str:
    return ", ".join(owners[:3]) + (f" and {len(owners) - 3} more" if len(owners) > 3 else "")


def check_digests(env: Environment, manifests: Iterable[Manifest], charts: set[str]) -> list[str]:
    """In production every image that runs is pinned by a real digest: each container of our own charts (never
    by tag alone), every image of the upstream charts, the images their operators start included (until
    `make pin-images` has pinned them, a production deploy is refused), and none by a placeholder digest."""
    if env.name not in DIGEST_REQUIRED:
        return []
    manifests = list(manifests)
    ours = [(o, name, image) for o in manifests if chart_of(o) in charts
            for name, image in ((c.get("name", "?"), str(c.get("image", ""))) for c in containers(o))
            if not DIGESTED.search(image)]
    problems = [f"image of {object_id(o, env.namespace)} container {name!r} is {image!r}: environment "
                f"{env.name!r} deploys images by digest only (image@sha256:...)" for o, name, image in ours]
    config = pins.load()
    # the images the upstream charts run or their operators start for our resources (Kafka's, say)
    for image, owners in pins.upstream_by_tag(manifests, config, env.namespace).items():
        if image not in {i for _, _, i in ours}:
            problems.append(f"upstream image {image!r} (run by {_owners(owners)}) is not pinned by digest: run "
                            f"`make pin-images ENV={env.name}` and commit {env.values_file.name} (the pin-images "
                            "workflow proposes it; docs/DEPLOYMENT.md 'Upstream image digests')")
    problems += [f"image {image!r} (run by {_owners(owners)}) has a placeholder digest: promote a real one into "
                 f"{env.values_file.name} or pass --image (docs/DEPLOYMENT.md 'Promotion')"
                 for image, owners in pins.running_images(manifests, config, env.namespace).items()
                 if PLACEHOLDER.search(image)]
    return problems


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
