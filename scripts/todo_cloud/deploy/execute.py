"""Runs a plan through a runner; a failed health check rolls the release back to its last good revision.

`deploy()` is the deploy of a rendered release: observe, preflight, plan, then execute (or, with `dry_run`,
print the plan and the diff against the deployed manifest, changing nothing). Against another cluster, e.g.
the simulated one, pass `ToolRunner(kubeconfig)` and the environment with that cluster's context:
`dataclasses.replace(envs.get("local"), kube_context="todo-sim")`. `deploy_release()` is the whole
`todo-cloud deploy` after its argument checks (render, required Secrets, CRDs, then `deploy()`), for the
command and for make up alike.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import sys
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path

import yaml

from todo_cloud import crds, yamlfile
from todo_cloud.deploy import plan as planning
from todo_cloud.deploy import preflight
from todo_cloud.deploy.runner import Runner, ToolRunner
from todo_cloud.deploy.secrets import RequiredSecret, our_charts, release_secrets
from todo_cloud.deploy.state import (
    ObserveError,
    history_argv,
    last_good_revision,
    observe,
    observe_claims,
    parse_history,
)
from todo_cloud.envs import Environment
from todo_cloud.manifests import Manifest, object_id
from todo_cloud.render import RenderError, parse_documents, render_chart

Report = Callable[[str], None]
# Seconds a runner command may take beyond the Helm/kubectl timeout it was given.
SLACK = 120.0


class Outcome(IntEnum):
    """Exit codes of `todo-cloud deploy`."""

    OK = 0
    REFUSED = 2  # preflight refused: nothing was changed
    FAILED = 3  # CRDs, infrastructure phase or upgrade failed (Helm rolled the upgrade back by itself)
    ROLLED_BACK = 4  # the health check failed and the release was rolled back to its last good revision
    ROLLBACK_FAILED = 5  # the health check failed and so did the rollback: a person must step in


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])


def rollback(plan: planning.Plan, runner: Runner, report: Report) -> Outcome:
    """Roll the release back to the newest revision before the deployed one that once served."""
    env, opts = plan.env, plan.options
    try:
        history = parse_history(runner(history_argv(env)), env.release)
    except ObserveError as exc:
        report(f"rollback: cannot read the release history, nothing was rolled back: {exc}")
        return Outcome.ROLLBACK_FAILED
    target = last_good_revision(history)
    if target is None:
        report(f"rollback: release {env.namespace}/{env.release} has no earlier good revision to roll back to; "
               "it is left as it is for inspection (docs/RUNBOOK.md 'Rollback')")
        return Outcome.ROLLBACK_FAILED
    report(f"rollback: to revision {target.revision} ({target.chart}, {target.description or target.status})")
    got = runner(planning.rollback_argv(env, target.revision, opts), timeout=opts.timeout_seconds + SLACK)
    if not got.ok:
        report(f"rollback to revision {target.revision} FAILED:\n{_tail(got.stderr or got.stdout)}")
        return Outcome.ROLLBACK_FAILED
    report(f"rolled back: release {env.namespace}/{env.release} runs revision {target.revision} again "
           "(Helm records the rollback as a new revision)")
    return Outcome.ROLLED_BACK


def execute(plan: planning.Plan, runner: Runner, report: Report = print) -> Outcome:
    """Run every step in order; stop at the first failure (a failed health step triggers the rollback)."""
    timeout = plan.options.timeout_seconds + SLACK
    for step in plan.steps:
        report(f"[{step.phase}] {step.title}")
        got = runner(step.argv, input=step.input, timeout=timeout)
        if got.ok:
            continue
        report(f"[{step.phase}] FAILED: {step.title} (exit {got.returncode})\n{_tail(got.stderr or got.stdout)}")
        if step.phase == "health":
            report(f"deploy {plan.env.name}: health check failed, rolling back")
            return rollback(plan, runner, report)
        if step.phase == "release":
            report(f"deploy {plan.env.name}: the upgrade failed; Helm rolled it back (--rollback-on-failure)")
        elif step.argv[:2] == ("helm", "upgrade"):
            report(f"deploy {plan.env.name}: the first-install phase failed; Helm uninstalled it "
                   "(--rollback-on-failure), the cluster keeps only the CRDs")
        else:
            report(f"deploy {plan.env.name}: stopped in phase {step.phase}; the release itself was not upgraded")
        return Outcome.FAILED
    report(f"deploy {plan.env.name}: done, healthy")
    return Outcome.OK


def _masked(doc: Manifest) -> Manifest:
    """A Secret with each value replaced by a short hash of it: a change shows, its content does not."""
    if doc.get("kind") != "Secret":
        return doc
    masked = dict(doc)
    for field in ("data", "stringData"):
        if isinstance(doc.get(field), dict):
            masked[field] = {k: "sha256:" + hashlib.sha256(str(v).encode()).hexdigest()[:12]
                             for k, v in doc[field].items()}
    return masked


def manifest_diff(deployed: str, rendered: list[Manifest], namespace: str) -> list[str]:
    """What an upgrade would change, object by object: `+ Kind/ns/name` (new), `- ...` (removed),
    `~ ...` followed by a unified diff (changed). Hooks are left out, as `helm get manifest` does; Secret
    values are shown as short hashes only (the diff goes into CI logs)."""
    def index(docs: list[Manifest]) -> dict[str, str]:
        return {object_id(d, namespace): yaml.safe_dump(_masked(d), sort_keys=True) for d in docs
                if "helm.sh/hook" not in (d.get("metadata", {}).get("annotations") or {})}

    old, new = index(parse_documents(deployed)), index(rendered)
    lines: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        if key not in old:
            lines.append(f"+ {key}")
        elif key not in new:
            lines.append(f"- {key}")
        elif old[key] != new[key]:
            lines.append(f"~ {key}")
            lines += [f"    {d.rstrip()}" for d in difflib.unified_diff(
                old[key].splitlines(), new[key].splitlines(), "deployed", "rendered", lineterm="", n=2)]
    return lines


def deploy(
    env: Environment,
    runner: Runner,
    opts: planning.Options,
    manifests: list[Manifest],
    required: list[RequiredSecret],
    charts: set[str],
    crd_bundle: str,
    *,
    crd_apis: set[str] = frozenset(),  # type: ignore[assignment]
    dry_run: bool = False,
    report: Report = print,
) -> Outcome:
    """The deploy of one environment against whatever cluster `runner` reaches."""
    state = observe(runner, env, {r.ref.namespace for r in required})
    if state.complete and not state.first_install:
        sets = {(d.get("metadata") or {}).get("namespace") or env.namespace for d in manifests
                if d.get("kind") == "StatefulSet"}
        state = dataclasses.replace(state, statefulset_claims=observe_claims(runner, env, sets))
    meta = yamlfile.load(opts.chart / "Chart.yaml") if (opts.chart / "Chart.yaml").is_file() else {}
    chart = (str(meta.get("name", "")), str(meta.get("version", "")))
    problems = preflight.check(env, state, manifests, required, charts, chart, crd_apis)
    if problems:
        report(f"deploy {env.name}: refused, nothing was changed:")
        for p in problems:
            report(f"  - {p}")
        return Outcome.REFUSED
    plan = planning.build(env, state, manifests, crd_bundle, opts)
    if not dry_run:
        return execute(plan, runner, report)
    report("dry run: nothing is changed. Plan:")
    for line in plan.describe():
        report(line)
    deployed = runner(["helm", "get", "manifest", env.release, "--namespace", env.namespace,
                       "--kube-context", env.kube_context]) if not state.first_install else None
    diff = manifest_diff(deployed.stdout if deployed and deployed.ok else "", manifests, env.namespace)
    report(f"changes against the deployed release ({len([d for d in diff if d[:1] in '+-~'])} objects):")
    for line in diff:
        report(line)
    return Outcome.OK


def _to_stderr(line: str) -> None:
    print(f"todo-cloud deploy: {line}", file=sys.stderr)


def deploy_release(env: Environment, opts: planning.Options, *, kubeconfig: Path | None = None,
                   dry_run: bool = False, report: Report = print, complain: Report = _to_stderr) -> Outcome:
    """Render the release of `env` with `opts.values`, derive the Secrets it needs and the CRDs it brings, and
    deploy it against the cluster of `kubeconfig` (default: $KUBECONFIG, else ~/.kube/config). A release that
    does not render or a cluster that cannot be read is refused (`complain` says why) before any change."""
    if kubeconfig is None and os.environ.get("KUBECONFIG"):
        kubeconfig = Path(os.environ["KUBECONFIG"])
    try:
        manifests = render_chart(opts.chart, opts.values, release=env.release, namespace=env.namespace)
    except RenderError as exc:
        complain(f"the release of {env.name} does not render, nothing was changed:\n{exc.stderr.strip()}")
        return Outcome.REFUSED
    required = release_secrets(manifests, env.namespace, opts.values)
    files = crds.crd_files()
    try:
        return deploy(env, ToolRunner(kubeconfig), opts, manifests, required, our_charts(), crds.crd_bundle(files),
                      crd_apis=crds.api_versions(files), dry_run=dry_run, report=report)
    except ObserveError as exc:
        complain(f"cannot read the cluster, nothing was changed: {exc}")
        return Outcome.REFUSED
