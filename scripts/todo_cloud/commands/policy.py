"""`todo-cloud policy`: checkov over the rendered manifests of every environment, terraform/ and
.github/workflows (configured in .checkov.yaml, custom checks in policy/checkov/), then the project rules
across objects (todo_cloud.gates.project). Prints one line per finding naming the object and the rule,
then the skipped checks with their reasons; exit 1 on any finding."""

from __future__ import annotations

import argparse

from todo_cloud import envs
from todo_cloud.commands import UNAVAILABLE, selected_environments, upstream_ready
from todo_cloud.gates import checkov, own_object_keys, project
from todo_cloud.render import render_environment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", action="append", help="limit the manifests to these environments (repeatable)")
    parser.add_argument("--manifests-only", action="store_true", help="leave out terraform/ and the workflows")


def run(args: argparse.Namespace) -> int:
    env_names = selected_environments(args.env)
    if not upstream_ready("policy"):
        return UNAVAILABLE
    releases = {env: render_environment(env) for env in env_names}
    own = {env: own_object_keys(env) for env in env_names}
    result = checkov.run_policy(releases, own, include_repo_targets=not args.manifests_only)
    for f in result.findings:
        print(f"FAIL {f}")
    for target, passed in sorted(result.passed.items()):
        print(f"checkov {target}: {passed} passed")
    for note in result.notes:
        print(f"note: {note}")
    reasons = {s.check: f"{s.scope}: {s.reason}" for s in checkov.skips()}
    for check, reason in reasons.items():
        dropped = result.skipped.get(check)
        print(f"skipped {check} ({reason})" + (f" -- {dropped} upstream finding(s)" if dropped else ""))
    project_findings = []
    for env in env_names:
        project_findings += project.check_release(releases[env], env, own[env], envs.get(env).namespace)
    for f in project_findings:
        print(f"FAIL {f}")
    print(f"project rules: {', '.join(project.RULES)}: {len(project_findings)} finding(s)")
    total = len(result.findings) + len(project_findings)
    print(f"policy: {total} finding(s)")
    return 1 if total else 0
