"""Subcommands of `todo-cloud`. Each module defines `configure(parser)` and `run(args) -> int`."""

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
    "deploy": "install or upgrade an environment, health-check it, roll back on failure",
    "smoke": "smoke tests against a running environment",
    "publish": "package the umbrella chart and push it to an OCI registry",
}
