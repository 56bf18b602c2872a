"""`todo-cloud publish [--registry oci://HOST/PATH]`: package the umbrella chart (its version from
Chart.yaml, dependencies included) and push it to an OCI registry; a version already there is refused.

Default registry: $TODO_CLOUD_CHART_REGISTRY, else oci://registry.digitalocean.com/todo-chatbot/charts
(log in first: `helm registry login registry.digitalocean.com`). Loopback registries use plain HTTP.
"""

from __future__ import annotations

import argparse
import os
import sys

from todo_cloud.release.publish import DEFAULT_REGISTRY, REGISTRY_ENV, PublishError, publish


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", default=os.environ.get(REGISTRY_ENV, DEFAULT_REGISTRY),
                        help=f"OCI registry reference (default: ${REGISTRY_ENV}, else {DEFAULT_REGISTRY})")
    parser.add_argument("--plain-http", action=argparse.BooleanOptionalAction, default=None,
                        help="speak plain HTTP to the registry (default: only to a loopback registry)")


def run(args: argparse.Namespace) -> int:
    try:
        published = publish(args.registry, plain_http=args.plain_http)
    except PublishError as exc:
        print(f"todo-cloud publish: {exc}", file=sys.stderr)
        return 1
    print(f"published {published.ref}@{published.digest}")
    return 0
