"""`todo-cloud validate`: schema validation of every rendered object of every environment, under each of its
profiles where it runs one (core kinds
against the Kubernetes schemas of the target version, custom resources against the CRDs of the pinned
upstream charts; an unknown kind fails) and against what the API server, Strimzi or Kafka would refuse
once installed (todo_cloud.gates.refusals), of the YAML data the tooling reads (yamale schemas under
config/schemas/, plus: environment files only override, no secret material in values), and the
cross-layer check of the environment facts (todo_cloud.env_facts: every copy of config/environments.yaml
in Terraform's files and the values files agrees with it).
Prints one line per finding, naming the object (or file) and the rule; exit 1 on any."""

from __future__ import annotations

import argparse

from todo_cloud import env_facts, envs, profiles
from todo_cloud.commands import UNAVAILABLE, selected_environments, upstream_ready
from todo_cloud.gates import Finding, data, kubeschema, refusals
from todo_cloud.render import render_environment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", help="limit to these environments (repeatable)")


def print_findings(gate: str, findings: list[Finding], checked: str) -> None:
    for f in findings:
        print(f"FAIL {f}")
    print(f"{gate}: {checked}, {len(findings)} finding(s)")


def run(args: argparse.Namespace) -> int:
    env_names = selected_environments(args.env)
    if not upstream_ready("validate"):
        return UNAVAILABLE
    failed = 0
    for env in env_names:
        for profile in profiles.variants(envs.get(env)):
            docs = render_environment(env, profile=profile)
            where = env if profile == envs.get(env).profile else f"{env} (profile {profile})"
            findings = kubeschema.validate_documents(docs, where)
            print_findings(f"validate {where}", findings, f"{len(docs)} objects")
            failed += len(findings)
            findings = refusals.check_release(docs, where, envs.get(env).namespace)
            print_findings(f"validate {where} refusals", findings, f"rules: {', '.join(refusals.RULES)}")
            failed += len(findings)
    findings = data.check_data()
    print_findings("validate values", findings, f"{len(data.data_files())} data files")
    for path in data.unschemed_files():
        print(f"note: {path} has no yamale schema in config/schemas/ (add it to todo_cloud.gates.data.DATA_SCHEMAS)")
    failed += len(findings)
    findings = env_facts.findings()
    print_findings("validate environment facts", findings, "config/environments.yaml against its copies")
    failed += len(findings)
    return 1 if failed else 0
