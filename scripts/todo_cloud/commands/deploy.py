"""`todo-cloud deploy --env ENV`: install or upgrade one environment in phases, health-check it, and
roll it back to the last good revision when the health check fails.

Preflight (refuses before anything changes): the kubeconfig's current context is the environment's
(config/environments.yaml), the release is not pending, every Secret the release needs but does not
create exists, and production images of our charts are pinned by digest. Then: CRDs server-side; on a
first install the release without app workloads and a wait for the Dapr sidecar injector; the full
release (`--rollback-on-failure`); `helm test` and rollout status. `--image backend=sha256:...` pins an
app image (production: by digest only). Exit codes: 0 healthy, 2 refused,
3 failed (nothing or Helm rolled back), 4 health check failed and rolled back, 5 rollback failed too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from todo_cloud import envs
from todo_cloud.deploy import plan
from todo_cloud.deploy.execute import Outcome, deploy_release
from todo_cloud.deploy.images import ImageError, image_values


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment (config/environments.yaml)")
    parser.add_argument("--kubeconfig", type=Path, default=None,
                        help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    parser.add_argument("--values", type=Path, action="append", default=[], metavar="FILE",
                        help="extra values file after values/<env>.yaml, e.g. the image digests (repeatable)")
    parser.add_argument("--image", action="append", default=[], metavar="COMPONENT=DIGEST",
                        help="pin an app image: backend=sha256:<64 hex> (production: digests only; repeatable)")
    parser.add_argument("--dry-run", action="store_true",
                        help="preflight, then print the plan and the diff against the deployed release; change nothing")
    parser.add_argument("--timeout", default="15m", help="Helm/kubectl timeout of each step (default 15m)")
    parser.add_argument("--history-max", type=int, default=10, help="Helm revisions kept (default 10)")
    parser.add_argument("--wait", default="watcher", choices=plan.WAIT_STRATEGIES,
                        help="Helm 4 wait strategy (default watcher: kstatus, custom resources included)")


def run(args: argparse.Namespace) -> int:
    env = envs.get(args.env)
    for extra in args.values:
        if not extra.is_file():
            print(f"todo-cloud deploy: --values {extra}: no such file", file=sys.stderr)
            return int(Outcome.REFUSED)
    try:
        images = image_values(env, args.image)
    except ImageError as exc:
        print(f"todo-cloud deploy: {exc}", file=sys.stderr)
        return int(Outcome.REFUSED)
    with tempfile.TemporaryDirectory(prefix="todo-deploy-") as tmp:
        overlays: list[Path] = []
        if images:
            overlays.append(Path(tmp) / "images.yaml")
            overlays[0].write_text(yaml.safe_dump(images))
        try:
            opts = plan.Options(values=(*env.values_files, *args.values, *overlays), timeout=args.timeout,
                                history_max=args.history_max, wait=args.wait)
        except ValueError as exc:
            print(f"todo-cloud deploy: {exc}", file=sys.stderr)
            return int(Outcome.REFUSED)
        return int(deploy_release(env, opts, kubeconfig=args.kubeconfig, dry_run=args.dry_run))
