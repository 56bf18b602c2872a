"""The steps of make up after its checks, in order, each idempotent (todo_cloud.local.lifecycle runs them):

1. build-images: `docker build` of every app image a workload of workloads/ builds (todo_cloud.local.images),
   tagged as the release names it; Docker's layer cache makes a rebuild of unchanged sources a no-op;
2. cluster: `kind create cluster` with the pinned node image (versions.toml [kind]), unless it exists;
3. namespaces: the environment's namespaces with their Pod Security labels (envs.namespace_objects);
4. postgres: a pinned PostgreSQL container on the Docker network `kind` (reused when it exists);
5. secrets: every required Secret that does not exist yet, with every key (never overwritten);
6. gateway-api-crds, envoy-gateway, gateway-class: the Gateway API CRDs (server-side), Envoy Gateway's
   chart (`helm upgrade --install`) and the GatewayClass `eg` the app's Gateway names;
7. load-images: `kind load docker-image` of every app image (kind skips an image its nodes have already);
8. deploy: the deploy of `local` (todo_cloud.deploy.execute.deploy_release, as `todo-cloud deploy --env local`).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets as tokens
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from todo_cloud import envs, tools, yamlfile
from todo_cloud.deploy.execute import Outcome, deploy_release
from todo_cloud.deploy.plan import Options
from todo_cloud.local import docker, secrets
from todo_cloud.local.checks import CLUSTER, ENV, KIND_CONFIG, Context, Pins, Unready
from todo_cloud.run import run

FIELD_MANAGER = "todo-cloud-kind"
PG_READY_TIMEOUT = 120.0
# Secrets whose value holds the PostgreSQL address (checked against the container's current address).
DATABASE_SECRETS = {"todo-chatbot-database": "url", "todo-chatbot-dapr-statestore": "connectionString"}


@dataclass(frozen=True)
class Step:
    """One step of make up: a key, what it does in one line, and the action."""

    key: str
    title: str
    action: Callable[[], None] = field(repr=False, compare=False)


def plan(ctx: Context) -> list[Step]:
    """The ordered steps of make up after the checks."""
    g, pg = ctx.pins.gateway, ctx.pins.postgres
    env = envs.get(ENV)
    levels = ", ".join(f"{n}={lvl}" for n, lvl in sorted(env.namespaces.items()))
    built = "; ".join(f"{b.image} from workloads/{b.workload}/Dockerfile" for b in ctx.images.builds) or "none"
    return [
        Step("build-images", f"docker build the app images from workloads/ ({built})", lambda: build_images(ctx)),
        Step("cluster", f"create the kind cluster {CLUSTER} ({ctx.pins.node_image}, {KIND_CONFIG.name}) unless it "
                        f"exists; make {ctx.kube_context} the current context", lambda: create_cluster(ctx)),
        Step("namespaces", f"apply the namespaces with their Pod Security levels ({levels})", apply_namespaces),
        Step("postgres", f"run PostgreSQL ({pg['image']}) as the container {pg['container']} on the Docker network "
                         f"{pg['network']} unless it runs, and wait until it accepts connections",
             lambda: start_postgres(ctx)),
        Step("secrets", "create the missing Secrets the release reads ("
                        + ", ".join(r.ref.name for r in ctx.required) + "); existing ones are kept",
             lambda: create_secrets(ctx)),
        Step("gateway-api-crds", "apply the Gateway API CRDs of versions.toml [external_crds.gateway-api] "
                                 "server-side", lambda: apply_gateway_api_crds(ctx)),
        Step("envoy-gateway", f"helm upgrade --install Envoy Gateway {g['version']} ({g['chart']}) into the "
                              f"namespace {g['namespace']}", lambda: install_envoy_gateway(ctx)),
        Step("gateway-class", f"apply the GatewayClass {g['gateway_class']} ({g['controller_name']}) and wait "
                              "until it is accepted", lambda: apply_gateway_class(ctx)),
        Step("load-images", f"kind load docker-image {' '.join(ctx.images.images)} into {CLUSTER}",
             lambda: load_images(ctx)),
        Step("deploy", f"todo-cloud deploy --env {ENV}", lambda: deploy()),
    ]


def stream(argv: list[Any], timeout: float = 900) -> None:
    """Run a long command with its output on the terminal (stderr); CommandError when it fails."""
    run(argv, timeout=timeout, stream=sys.stderr)


def kubectl(ctx: Context, *args: str, input: str | None = None, check: bool = True, timeout: float = 600) -> Any:
    return run([tools.path("kubectl"), "--context", ctx.kube_context, *args], input=input, check=check,
               timeout=timeout)


def create_cluster(ctx: Context) -> None:
    clusters = run([ctx.kind, "get", "clusters"], timeout=60).stdout.split()
    if CLUSTER in clusters:
        run([ctx.kind, "export", "kubeconfig", "--name", CLUSTER], timeout=60)
        return
    stream([ctx.kind, "create", "cluster", "--name", CLUSTER, "--config", KIND_CONFIG, "--image",
            ctx.pins.node_image, "--wait", "5m"])


def apply_namespaces() -> None:
    """Create (or label) the namespaces before the deploy, so Pod Security is enforced from the first pod."""
    context = envs.get(ENV).kube_context
    run([tools.path("kubectl"), "--context", context, "apply", "--server-side", f"--field-manager={FIELD_MANAGER}",
         "-f", "-"], input=yaml.safe_dump_all(envs.namespace_objects(envs.get(ENV))), timeout=600)


def database_of(state: dict[str, Any], pins: dict[str, Any]) -> secrets.Database:
    """How pods reach the container: its address on the kind network, and the role it was started with."""
    env = docker.container_env(state)
    ip = docker.container_ip(state, pins["network"])
    if not ip:
        raise Unready(f"the container {pins['container']} has no address on the Docker network {pins['network']}")
    if "POSTGRES_PASSWORD" not in env:
        raise Unready(f"the container {pins['container']} was not started with POSTGRES_PASSWORD: remove it "
                      f"(`docker rm -f {pins['container']}`) and run make up again")
    user = env.get("POSTGRES_USER", "postgres")
    return secrets.Database(ip, int(pins["port"]), user, env["POSTGRES_PASSWORD"], env.get("POSTGRES_DB") or user)


def start_postgres(ctx: Context) -> None:
    pg = ctx.pins.postgres
    name, network = pg["container"], pg["network"]
    state = docker.container_state(name)
    if state is None:
        # The password lives only in the container's environment and in the Secrets made from it.
        run(["docker", "run", "--detach", "--name", name, "--network", network, "--restart", "unless-stopped",
             "--env", f"POSTGRES_USER={pg['user']}", "--env", f"POSTGRES_PASSWORD={tokens.token_hex(24)}",
             "--env", f"POSTGRES_DB={pg['database']}", pg["image"]], timeout=600)
    else:
        if not docker.container_ip(state, network):
            run(["docker", "network", "connect", network, name], timeout=60)
        if not (state.get("State") or {}).get("Running"):
            run(["docker", "start", name], timeout=120)
        image = (state.get("Config") or {}).get("Image")
        if image != pg["image"]:
            ctx.warnings.append(f"warning: the container {name} runs {image}, not the pinned {pg['image']}; "
                                f"kept with its data (`docker rm -f {name}` and make up again to replace it)")
    state = docker.container_state(name)
    if state is None:
        raise Unready(f"the container {name} disappeared after its start")
    ctx.database = database_of(state, pg)
    wait_for_postgres(name, ctx.database)
    cidr = ((yamlfile.load(envs.get(ENV).values_file)["app"].get("networkPolicy") or {})
            .get("database") or {}).get("cidr")
    if cidr and ipaddress.ip_address(ctx.database.host) not in ipaddress.ip_network(cidr):
        ctx.warnings.append(f"warning: PostgreSQL is at {ctx.database.host}, outside app.networkPolicy.database.cidr "
                            f"{cidr} of values/local.yaml: the backend's NetworkPolicy will block it")


def wait_for_postgres(name: str, db: secrets.Database, timeout: float = PG_READY_TIMEOUT) -> None:
    # Over TCP: during its first start the image runs a temporary server on the Unix socket only.
    argv = ["docker", "exec", name, "pg_isready", "--host", "127.0.0.1", "--port", str(db.port),
            "--username", db.user, "--dbname", db.name]
    deadline = time.monotonic() + timeout
    while run(argv, check=False, timeout=30).returncode != 0:
        if time.monotonic() > deadline:
            raise Unready(f"PostgreSQL in the container {name} is not ready after {timeout:.0f} s "
                          f"(`docker logs {name}` says why)")
        time.sleep(2)


@dataclass
class KubectlSecrets:
    """The cluster's Secrets through the pinned kubectl (todo_cloud.local.secrets.SecretStore)."""

    ctx: Context

    def existing(self, namespace: str) -> set[str]:
        out = kubectl(self.ctx, "get", "secrets", "--namespace", namespace, "-o",
                      "jsonpath={.items[*].metadata.name}").stdout
        return set(out.split())

    def create(self, obj: dict[str, Any]) -> None:
        kubectl(self.ctx, "create", "-f", "-", input=json.dumps(obj))

    def value(self, namespace: str, name: str, key: str) -> str | None:
        proc = kubectl(self.ctx, "get", "secret", name, "--namespace", namespace, "-o", "json", check=False)
        if proc.returncode != 0:
            return None
        data = json.loads(proc.stdout).get("data") or {}
        return base64.b64decode(data[key]).decode() if key in data else None


def create_secrets(ctx: Context) -> None:
    if ctx.database is None:
        raise Unready("the secrets step needs the PostgreSQL step first")
    store = KubectlSecrets(ctx)
    outcome = secrets.ensure(ctx.required, secrets.Inputs.from_environment(ctx.database), store)
    ctx.warnings += outcome.warnings
    for r in ctx.required:
        key = DATABASE_SECRETS.get(r.ref.name)
        if key and str(r.ref) in outcome.kept:
            value = store.value(r.ref.namespace, r.ref.name, key) or ""
            if f"@{ctx.database.host}:" not in value:
                ctx.warnings.append(f"warning: Secret {r.ref} does not point at PostgreSQL's current address "
                                    f"{ctx.database.host}; delete it (`kubectl -n {r.ref.namespace} delete secret "
                                    f"{r.ref.name}`) and run make up again")
    if outcome.created:
        print(f"make up: created the Secrets {', '.join(outcome.created)}", file=sys.stderr)


def apply_gateway_api_crds(ctx: Context) -> None:
    kubectl(ctx, "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-",
            input=ctx.crds)


def envoy_gateway_argv(ctx: Context) -> list[str]:
    g = ctx.pins.gateway
    return [str(tools.path("helm")), "upgrade", g["release"], g["chart"], "--install", "--version", g["version"],
            "--namespace", g["namespace"], "--create-namespace", "--kube-context", ctx.kube_context,
            "--wait=watcher", "--timeout", "10m"]


def install_envoy_gateway(ctx: Context) -> None:
    stream(envoy_gateway_argv(ctx))


def gateway_class(pins: Pins) -> dict[str, Any]:
    g = pins.gateway
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
            "metadata": {"name": g["gateway_class"]}, "spec": {"controllerName": g["controller_name"]}}


def apply_gateway_class(ctx: Context) -> None:
    kubectl(ctx, "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-",
            input=yaml.safe_dump(gateway_class(ctx.pins)))
    kubectl(ctx, "wait", f"gatewayclass/{ctx.pins.gateway['gateway_class']}", "--for=condition=Accepted",
            "--timeout=180s")


def build_images(ctx: Context) -> None:
    for build in ctx.images.builds:
        stream(build.argv, timeout=1800)


def load_images(ctx: Context) -> None:
    if ctx.images.images:
        stream([ctx.kind, "load", "docker-image", "--name", CLUSTER, *ctx.images.images])


def deploy() -> None:
    env = envs.get(ENV)
    outcome = deploy_release(env, Options(values=env.values_files))
    if outcome is not Outcome.OK:
        raise DeployFailed(int(outcome))


class DeployFailed(RuntimeError):
    """`todo-cloud deploy` ended with a non-zero exit code (it said why)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"todo-cloud deploy --env {ENV} exited {code}")
        self.code = code


def run_steps(steps: list[Step]) -> None:
    for i, step in enumerate(steps, 1):
        print(f"make up: {i}/{len(steps)} {step.key}: {step.title}", file=sys.stderr)
        step.action()


def describe(steps: list[Step]) -> list[str]:
    return [f"  {i}. [{s.key}] {s.title}" for i, s in enumerate(steps, 1)]

