"""Subcommands of `todo-cloud`. Each module defines `configure(parser)` and `run(args) -> int`."""

from __future__ import annotations

import sys

# Aliased: this package's `deps` and `envs` command modules would rebind the plain names on import.
from todo_cloud import deps as deps_module
from todo_cloud import envs as envs_module

# What the project does, verb by verb, in the groups `todo-cloud --help` shows them. Each verb is the module
# `todo_cloud.commands.<verb with - as _>`; each Makefile target runs one of them.
GROUPS: dict[str, dict[str, str]] = {
    "set up": {
        "deps": "build the umbrella's chart dependencies (upstream repositories or a local mirror)",
        "prereqs": "build what the test suite needs that this machine can build (Go tools, simulated cluster, "
                   "OpenTofu, CRDs, Kafka jars), cached",
        "tools-go": "build the pinned Go programs of versions.toml (default: every [go_tools]) into the user cache",
        "kafka-jars": "lock or fetch the Kafka broker's jars the runtime harness runs (Maven, sha256-checked)",
        "generate": "write the generated files (dashboards, rules, schemas, docs tables, Chart.lock)",
    },
    "look": {
        "envs": "list the environments",
        "render": "render one environment's manifests, one file per kind/name",
        "report": "image inventory, capacity and cost of an environment",
    },
    "check": {
        "lint": "helm lint --strict every chart with every environment, yamllint, ruff, actionlint",
        "validate": "schema-validate every rendered object of every environment",
        "policy": "checkov and the project's own policy checks over manifests, Terraform and workflows",
        "terraform": "check each environment's Terraform with the pinned OpenTofu (validate), or build it",
        "test": "run the pytest suites (all, or --suite NAME)",
        "bench": "wall times of bootstrap, render, the gates, the suite and the simulated cluster",
    },
    "run an environment": {
        "up": "the local environment on kind: cluster, PostgreSQL, Secrets, Envoy Gateway, deploy",
        "down": "delete the local kind cluster",
        "sim": "the simulated cluster (real control plane, KWOK nodes): up, down, build",
        "deploy": "install or upgrade an environment, health-check it, roll back on failure",
        "rbac": "the deploy and on-call identities of an environment: show, apply (admin), kubeconfig",
        "smoke": "smoke tests against a running environment",
        "nodes": "check the report's node allocatable and DOKS system pods against the environment's cluster",
    },
    "release": {
        "images": "pin the upstream images by digest; build, check and push the reference images of workloads/",
        "publish": "package the umbrella chart and push it to an OCI registry",
    },
}
# Verb -> one-line help, in the order `todo-cloud --help` lists them.
COMMANDS = {verb: text for group in GROUPS.values() for verb, text in group.items()}


def module_name(verb: str) -> str:
    """The module of a verb: `todo_cloud.commands.tools_go` for `tools-go`."""
    return f"todo_cloud.commands.{verb.replace('-', '_')}"


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
