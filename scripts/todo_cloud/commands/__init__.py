"""Subcommands of `todo-cloud`. Each module defines `configure(parser)` and `run(args) -> int`."""

from __future__ import annotations

import sys

# Aliased: this package's `deps` and `envs` command modules would rebind the plain names on import.
from todo_cloud import deps as deps_module
from todo_cloud import envs as envs_module

# Module name -> one-line help, in the order `todo-cloud --help` lists them.
COMMANDS = {
    "envs": "list the environments",
    "deps": "build the umbrella's chart dependencies (upstream repositories or a local mirror)",
    "generate": "write the generated files (dashboards, rules, schemas, docs tables, Chart.lock)",
    "render": "render one environment's manifests, one file per kind/name",
    "lint": "helm lint --strict every chart with every environment, yamllint, ruff, actionlint",
    "validate": "schema-validate every rendered object of every environment",
    "policy": "checkov and the project's own policy checks over manifests, Terraform and workflows",
    "report": "image inventory, capacity and cost of an environment",
    "nodes": "check the report's node allocatable and DOKS system pods against the environment's cluster",
    "images": "pin an environment's upstream images by digest in its values file",
    "deploy": "install or upgrade an environment, health-check it, roll back on failure",
    "smoke": "smoke tests against a running environment",
    "publish": "package the umbrella chart and push it to an OCI registry",
}


# Exit code of a command whose prerequisites (the umbrella's upstream charts) cannot be had.
UNAVAILABLE = 2


def selected_environments(requested: list[str] | None) -> list[str]:
    """The environments a command works on: those requested (each checked by name), else all of them."""
    names = requested or envs_module.names()
    for name in names:
        envs_module.get(name)
    return names


def upstream_ready(command: str) -> bool:
    """Build the umbrella's dependencies; False, after saying why on stderr, when they cannot be had."""
    status = deps_module.ensure()
    if not status.ready:
        print(f"todo-cloud {command}: upstream charts unavailable: {status.reason}", file=sys.stderr)
    return status.ready
