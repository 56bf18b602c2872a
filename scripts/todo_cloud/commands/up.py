"""`todo-cloud up [--dry-run]` (`make up`): the local environment on a kind cluster (todo_cloud.local): the app
images built from workloads/, the cluster, namespaces, PostgreSQL, the Secrets, Envoy Gateway, the images
loaded, the deploy. Everything is checked before the first change; where Docker or kind is missing it says so
in one line and changes nothing."""

from __future__ import annotations

import argparse

from todo_cloud.local import lifecycle


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="check and print the steps, change nothing")


def run(args: argparse.Namespace) -> int:
    return lifecycle.up(args.dry_run)
