"""`todo-cloud envs`: the environments and where they run; `--env ENV --get FACT` prints one fact of
config/environments.yaml, for scripts and workflows (e.g. the DOKS cluster to fetch a kubeconfig of)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from todo_cloud import envs
from todo_cloud.envs import Environment

# The facts `--get` prints: name -> reader (DOKS facts are empty on kind).
FACTS: dict[str, Callable[[Environment], str]] = {
    "release": lambda e: e.release,
    "namespace": lambda e: e.namespace,
    "kube-context": lambda e: e.kube_context,
    "image-registry": lambda e: e.image_registry,
    "pull-secrets": lambda e: " ".join(e.pull_secrets),
    "database-cidr": lambda e: e.database_cidr,
    "database-port": lambda e: str(e.database_port),
    "region": lambda e: e.digitalocean.region if e.digitalocean else "",
    "cluster": lambda e: e.digitalocean.cluster if e.digitalocean else "",
    "vpc-cidr": lambda e: e.digitalocean.vpc_cidr if e.digitalocean else "",
    "registry": lambda e: e.digitalocean.registry if e.digitalocean else "",
    "spaces-endpoint": lambda e: e.digitalocean.spaces_endpoint if e.digitalocean else "",
    "loki-bucket": lambda e: e.digitalocean.bucket("loki") if e.digitalocean else "",
    "backups-bucket": lambda e: e.digitalocean.bucket("backups") if e.digitalocean else "",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", help="one environment (config/environments.yaml)")
    parser.add_argument("--get", choices=sorted(FACTS), help="print only this fact of --env")


def run(args: argparse.Namespace) -> int:
    if args.get:
        if not args.env:
            print("todo-cloud envs: --get needs --env", file=sys.stderr)
            return 2
        value = FACTS[args.get](envs.get(args.env))
        if not value:
            print(f"todo-cloud envs: environment {args.env!r} has no {args.get} (not a DOKS environment)",
                  file=sys.stderr)
            return 1
        print(value)
        return 0
    for e in envs.all_environments().values():
        if args.env and e.name != args.env:
            continue
        where = f"{e.digitalocean.cluster} in {e.digitalocean.region}, VPC {e.digitalocean.vpc_cidr}" \
            if e.digitalocean else "kind"
        print(f"{e.name:12s} {e.kube_context:36s} {e.description}")
        print(f"{'':12s} {where}; images {e.image_registry}"
              f"{' (pull Secret ' + ', '.join(e.pull_secrets) + ')' if e.pull_secrets else ''}; "
              f"PostgreSQL {e.database_cidr}:{e.database_port}")
    return 0
