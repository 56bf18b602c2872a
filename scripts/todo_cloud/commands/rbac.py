"""`todo-cloud rbac show|apply|kubeconfig --env ENV`: the deploy and on-call identities of an environment
(todo_cloud.deploy.rbac), derived from its rendered release under every profile and the pinned CRDs.

- `show` prints the objects (YAML) for review;
- `apply` (an administrator, once per cluster and after a chart bump that brings new cluster-scoped objects
  or roles) applies them server-side on the environment's context;
- `kubeconfig --identity deploy` writes a kubeconfig with the deploy ServiceAccount's long-lived token (the
  CI secret `DEPLOY_KUBECONFIG`, docs/DEPLOYMENT.md); `--identity oncall` one with a token of `--duration`
  (default 8h) for a person on call.

The cluster is reached with the pinned kubectl through `--kubeconfig` (default: $KUBECONFIG, else
~/.kube/config), on the environment's kube context. Exit 0 done, 1 the cluster refused, 2 bad input or
upstream charts unavailable.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import crds, envs, profiles
from todo_cloud.commands import UNAVAILABLE, upstream_ready
from todo_cloud.deploy import rbac
from todo_cloud.deploy.runner import ToolRunner
from todo_cloud.deploy.secrets import release_secrets
from todo_cloud.render import render_environment

NAME = "todo-cloud rbac"
FIELD_MANAGER = "todo-cloud-rbac"
# Seconds the token controller gets to fill in the deploy token.
TOKEN_WAIT = 60


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (("show", "print the objects"), ("apply", "apply them on the environment's cluster (admin)"),
                         ("kubeconfig", "write a kubeconfig for one identity")):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("--env", required=True, choices=envs.names(), help="environment")
        sub.add_argument("--kubeconfig", type=Path, default=None,
                         help="an administrator's kubeconfig (default: $KUBECONFIG, else ~/.kube/config)")
        if action == "kubeconfig":
            sub.add_argument("--identity", required=True, choices=("deploy", "oncall"), help="whose kubeconfig")
            sub.add_argument("--out", type=Path, required=True, help="file to write (mode 0600)")
            sub.add_argument("--duration", default="8h", help="lifetime of an on-call token (default 8h)")


def release_objects(env: envs.Environment) -> list[dict[str, Any]]:
    """The identities' objects of `env`, from its release rendered under every profile it can run."""
    releases, secret_namespaces = [], set()
    for profile in profiles.variants(env):
        docs = render_environment(env.name, profile=profile)
        releases.append(docs)
        files = profiles.values_files(env, profile) if profile else env.values_files
        secret_namespaces |= {r.ref.namespace for r in release_secrets(docs, env.namespace, files)}
    pinned = [d for f in crds.crd_files() for d in crds.documents(f.text)
              if d.get("kind") == "CustomResourceDefinition"]
    return rbac.objects(env, releases, pinned, secret_namespaces)


def _fail(message: str) -> int:
    print(f"{NAME}: {message}", file=sys.stderr)
    return 1


def _write_kubeconfig(runner: ToolRunner, env: envs.Environment, args: argparse.Namespace) -> int:
    ctx, home = env.kube_context, rbac.identity_namespace(env)
    view = runner(["kubectl", "config", "view", "--raw", "--minify", "--flatten", "--context", ctx, "-o", "json"])
    if not view.ok:
        return _fail(f"no context {ctx!r} in the kubeconfig: {view.stderr.strip()}")
    cluster = json.loads(view.stdout)["clusters"][0]["cluster"]
    if args.identity == "oncall":
        got = runner(["kubectl", "create", "token", rbac.ONCALL, "--context", ctx, "--namespace", home,
                      "--duration", args.duration])
        if not got.ok:
            return _fail(f"a token for {rbac.ONCALL}: {got.stderr.strip()}")
        user, token = rbac.ONCALL, got.stdout.strip()
    else:
        user, token = rbac.DEPLOYER, ""
        deadline = time.monotonic() + TOKEN_WAIT
        while not token:
            got = runner(["kubectl", "get", "secret", rbac.TOKEN_SECRET, "--context", ctx, "--namespace", home,
                          "-o", "json"])
            if not got.ok:
                return _fail(f"secret {home}/{rbac.TOKEN_SECRET}: {got.stderr.strip()} (run `{NAME} apply` first)")
            token = base64.b64decode((json.loads(got.stdout).get("data") or {}).get("token", "")).decode()
            if not token and time.monotonic() > deadline:
                return _fail(f"secret {home}/{rbac.TOKEN_SECRET} got no token within {TOKEN_WAIT} s")
            if not token:
                time.sleep(1)
    config = rbac.kubeconfig(env, cluster["server"], cluster.get("certificate-authority-data", ""), user, token)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(yaml.safe_dump(config, sort_keys=False))
    print(f"{args.out}: kubeconfig of {rbac.service_account_user(home, user)} on context {ctx}")
    return 0


def run(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    runner = ToolRunner(args.kubeconfig or (Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG") else None))
    if args.action == "kubeconfig":
        return _write_kubeconfig(runner, env, args)
    if not upstream_ready("rbac"):
        return UNAVAILABLE
    objects = release_objects(env)
    text = yaml.safe_dump_all(objects, sort_keys=False)
    if args.action == "show":
        print(text, end="")
        return 0
    got = runner(["kubectl", "apply", "--context", env.kube_context, "--server-side", "--force-conflicts",
                  f"--field-manager={FIELD_MANAGER}", "--filename", "-"], input=text, timeout=120)
    if not got.ok:
        return _fail(f"apply on {env.kube_context} failed, see above:\n{got.stderr.strip()}")
    print(got.stdout.strip())
    print(f"{NAME}: {len(objects)} objects applied on {env.kube_context}; next: `{NAME} kubeconfig --env {env.name} "
          "--identity deploy --out <file>` for CI")
    return 0
