"""`todo-cloud terraform validate [--env ENV] [--no-build]` (`make tf-validate`): the Terraform variables and
configuration of each environment checked by the pinned OpenTofu (todo_cloud.terraform), the binaries built
from the Go module proxy when absent; `todo-cloud terraform build` only builds them.
Exit 1 when a check fails; a check that cannot run here is reported as skipped with the reason."""

from __future__ import annotations

import argparse
import sys

from todo_cloud import terraform


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("validate", help="variables and configuration checks per environment")
    check.add_argument("--env", action="append", choices=terraform.environments(),
                       help="environment (repeatable; default all)")
    check.add_argument("--no-build", action="store_true", help="use only binaries already built")
    actions.add_parser("build", help="build the pinned OpenTofu and DigitalOcean provider")


def _build() -> int:
    status = 0
    for name, built in ((terraform.TOFU, lambda: terraform.tofu(build=True)),
                        (terraform.PROVIDER, lambda: terraform.provider(build=True)[0])):
        try:
            print(f"{name}: {built()}")
        except terraform.Unavailable as exc:
            print(f"{name}: unavailable: {exc}", file=sys.stderr)
            status = 1
    return status


def run(args: argparse.Namespace) -> int:
    if args.action == "build":
        return _build()
    results = terraform.validate(args.env or terraform.environments(), build=not args.no_build)
    for result in results:
        print(f"{result.status:8s} {result.name}" + (f": {result.detail}" if result.status == "skipped" else ""))
        if result.status == "failed":
            print("\n".join(f"  $ {c}" for c in result.commands) + ("\n" if result.commands else ""), end="")
            print("  " + result.detail.replace("\n", "\n  "), file=sys.stderr)
    return 1 if any(r.status == "failed" for r in results) else 0
