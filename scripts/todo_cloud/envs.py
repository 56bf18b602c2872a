"""Environments (config/environments.yaml) and their values files (values/<env>.yaml).

config/environments.yaml is the one source of each environment's facts that several layers must agree on:
where it runs (kube context; for DOKS region, cluster, VPC and node pool), its image registry and the pull
Secret pods authenticate with, its Spaces buckets and endpoint, and where PostgreSQL listens. Everything
else derives them from here (todo_cloud.env_facts writes and checks the copies Terraform and the values
files need); `load` refuses an entry whose keys contradict each other, naming the key.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from todo_cloud import yamlfile
from todo_cloud.paths import CONFIG, VALUES

ENVIRONMENTS_FILE = CONFIG / "environments.yaml"
# Pod Security admission modes, each set to the namespace's level (todo_cloud.envs.namespace_objects).
POD_SECURITY_MODES = ("enforce", "audit", "warn")
# Where DigitalOcean's container registry serves images, and the name DOKS's registry integration gives the
# Secret with its read-only credentials (kube-system, copied into every namespace by the DOSecret operator).
DOCR_HOST = "registry.digitalocean.com"
DOCR_PULL_SECRET_PREFIX = "registry-"


class UnknownEnvironment(ValueError):
    """An environment name that config/environments.yaml does not define."""


class EnvironmentError(ValueError):
    """An entry of config/environments.yaml whose keys contradict each other; the message names the key."""


@dataclass(frozen=True)
class DigitalOcean:
    """Where a DOKS environment runs: the names and ranges Terraform creates and the rest of the repo uses."""

    region: str
    cluster: str
    vpc_cidr: str
    node_size: str
    node_min: int
    node_max: int
    registry: str
    spaces_bucket_prefix: str

    @property
    def kube_context(self) -> str:
        """The context `doctl kubernetes cluster kubeconfig save` writes."""
        return f"do-{self.region}-{self.cluster}"

    @property
    def image_registry(self) -> str:
        return f"{DOCR_HOST}/{self.registry}"

    @property
    def pull_secret(self) -> str:
        """The image pull Secret DOKS's registry integration puts in every namespace."""
        return f"{DOCR_PULL_SECRET_PREFIX}{self.registry}"

    @property
    def spaces_endpoint(self) -> str:
        return f"https://{self.region}.digitaloceanspaces.com"

    def bucket(self, purpose: str) -> str:
        """A Spaces bucket of the environment: `loki` or `backups` (terraform/spaces.tf)."""
        return f"{self.spaces_bucket_prefix}-{purpose}"


@dataclass(frozen=True)
class Environment:
    name: str
    description: str
    release: str
    namespace: str
    kube_context: str
    # Namespaces the deploy creates, name -> Pod Security level enforced there (restricted, baseline,
    # privileged); the release namespace is always among them (under "restricted" unless listed).
    namespaces: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    # Registry of the app images and the pull Secrets pods name (none where images are loaded, not pulled).
    image_registry: str = ""
    pull_secrets: tuple[str, ...] = ()
    # Where PostgreSQL listens, as the app's NetworkPolicy egress sees it.
    database_cidr: str = ""
    database_port: int = 0
    # The DigitalOcean resources (DOKS environments), None on kind.
    digitalocean: DigitalOcean | None = field(default=None, hash=False, compare=False)

    @property
    def values_file(self) -> Path:
        """The environment's own values file, values/<env>.yaml."""
        return VALUES / f"{self.name}.yaml"

    @property
    def profile(self) -> str | None:
        """The profile the environment's file names (`profile.name`, config/profiles.yaml), else None."""
        return profile_named(self.values_file)

    @property
    def values_files(self) -> tuple[Path, ...]:
        """Every values file of the environment, in Helm's order: its profile's layer
        (values/profiles/<name>.yaml, when it names one), then values/<env>.yaml. What render, deploy and
        report pass to Helm; the umbrella refuses a profile named but not among them."""
        return profile_values_files(self.profile, self.values_file)


def _network(key: str, text: str) -> str:
    """`text` if it is an IPv4 network in canonical form; EnvironmentError naming `key` otherwise."""
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError as exc:
        raise EnvironmentError(f"{key}: {text!r} is not an IPv4 CIDR ({exc})") from None
    if str(net) != text:
        raise EnvironmentError(f"{key}: {text!r} has host bits set; the network is {net}")
    return text


def _digitalocean(key: str, do: dict[str, Any]) -> DigitalOcean:
    pool = do["nodePool"]
    if int(pool["min"]) > int(pool["max"]):
        raise EnvironmentError(f"{key}.nodePool.min: {pool['min']} is more than max {pool['max']}")
    vpc = _network(f"{key}.vpcCidr", str(do["vpcCidr"]))
    if not ipaddress.IPv4Network(vpc).is_private or not 16 <= ipaddress.IPv4Network(vpc).prefixlen <= 24:
        raise EnvironmentError(f"{key}.vpcCidr: {vpc} must be a private (RFC 1918) range from /16 to /24 "
                               "(DigitalOcean VPCs)")
    return DigitalOcean(str(do["region"]), str(do["cluster"]), vpc, str(pool["size"]), int(pool["min"]),
                        int(pool["max"]), str(do["registry"]), str(do["spacesBucketPrefix"]))


def parse(name: str, e: dict[str, Any]) -> Environment:
    """One entry of config/environments.yaml; EnvironmentError naming the key where its keys disagree."""
    key = f"environments.{name}"
    namespaces = {e["namespace"]: "restricted", **(e.get("namespaces") or {})}
    database = e.get("database") or {}
    do = _digitalocean(f"{key}.digitalocean", e["digitalocean"]) if e.get("digitalocean") else None
    if do is not None:
        for own in ("kubeContext", "imageRegistry"):
            if own in e:
                raise EnvironmentError(f"{key}.{own}: a DOKS environment takes it from {key}.digitalocean "
                                       f"({do.kube_context if own == 'kubeContext' else do.image_registry}); "
                                       "remove it")
        context, registry, pull = do.kube_context, do.image_registry, (do.pull_secret,)
        cidr = _network(f"{key}.database.cidr", str(database.get("cidr", do.vpc_cidr)))
    else:
        for needed in ("kubeContext", "imageRegistry"):
            if not e.get(needed):
                raise EnvironmentError(f"{key}.{needed}: required where there is no {key}.digitalocean")
        if "cidr" not in database:
            raise EnvironmentError(f"{key}.database.cidr: required where there is no {key}.digitalocean VPC")
        context, registry, pull = str(e["kubeContext"]), str(e["imageRegistry"]), ()
        cidr = _network(f"{key}.database.cidr", str(database["cidr"]))
    if "port" not in database:
        raise EnvironmentError(f"{key}.database.port: required")
    return Environment(name, e["description"], e["release"], e["namespace"], context, namespaces,
                       registry, pull, cidr, int(database["port"]), do)


def load(path: Path = ENVIRONMENTS_FILE) -> dict[str, Environment]:
    """Every environment of `path` (default config/environments.yaml), in file order."""
    data = yamlfile.load(path)["environments"]
    return {name: parse(name, e) for name, e in data.items()}


@cache
def all_environments() -> dict[str, Environment]:
    return load()


# Folder of the profiles' values layers (values/profiles/<name>.yaml).
PROFILE_VALUES = VALUES / "profiles"


def profile_named(env_file: Path) -> str | None:
    """The profile an environment's values file names (`profile.name`), else None."""
    values = yamlfile.load(env_file) or {}
    return ((values.get("profile") or {}).get("name")) or None


def profile_values_files(profile: str | None, env_file: Path) -> tuple[Path, ...]:
    """The values files of an environment running `profile` (None: none) whose own file is `env_file`: the
    profile's layer from the `profiles/` folder beside it (values/profiles/<name>.yaml), then the file."""
    return (env_file.parent / "profiles" / f"{profile}.yaml", env_file) if profile else (env_file,)


def names() -> list[str]:
    return list(all_environments())


def get(name: str) -> Environment:
    try:
        return all_environments()[name]
    except KeyError:
        raise UnknownEnvironment(
            f"unknown environment {name!r}; valid environments: {', '.join(names())}"
        ) from None


def namespace_objects(env: Environment) -> list[dict[str, Any]]:
    """The environment's Namespace objects, sorted by name, each labelled with its Pod Security level for
    every admission mode: what the deploy applies first, and make up and the simulated cluster before it."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {
            **{f"pod-security.kubernetes.io/{mode}": level for mode in POD_SECURITY_MODES},
            **{f"pod-security.kubernetes.io/{mode}-version": "latest" for mode in POD_SECURITY_MODES},
            "app.kubernetes.io/part-of": "todo-chatbot-cloud"}}}
        for name, level in sorted(env.namespaces.items())
    ]
