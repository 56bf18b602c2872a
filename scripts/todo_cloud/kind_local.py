"""What `make up` installs besides the release, and in which order (todo_cloud.kind runs it).

Prerequisites are all checked before anything changes (`prepare`): the upstream charts, the release
rendered for `local` with a recipe for every Secret and key it reads (todo_cloud.kind_secrets), the app
images in the local Docker, the pinned helm and kubectl, the Gateway API CRDs of versions.toml
[external_crds.gateway-api]. Then the steps of `plan`, each idempotent:

1. cluster: `kind create cluster` with the pinned node image (versions.toml [kind]), unless it exists;
2. namespaces: the environment's namespaces with their Pod Security labels;
3. postgres: a pinned PostgreSQL container on the Docker network `kind` (reused when it exists);
4. secrets: every required Secret that does not exist yet, with every key (never overwritten);
5. gateway-api-crds, envoy-gateway, gateway-class: the Gateway API CRDs (server-side), Envoy Gateway's
   chart (`helm upgrade --install`) and the GatewayClass `eg` the app's Gateway names;
6. images: `kind load docker-image` of the app images;
7. deploy: `todo-cloud deploy --env local`.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import envs, kind_secrets, tools, versions
from todo_cloud.deploy.secrets import RequiredSecret, release_secrets
from todo_cloud.manifests import Manifest, image_references
from todo_cloud.paths import CONFIG
from todo_cloud.run import run

ENV = "local"
CLUSTER = "todo-chatbot"
KIND_CONFIG = CONFIG / "kind.yaml"
FIELD_MANAGER = "todo-cloud-kind"
PG_READY_TIMEOUT = 120.0
# Secrets whose value holds the PostgreSQL address (checked against the container's current address).
DATABASE_SECRETS = {"todo-chatbot-database": "url", "todo-chatbot-dapr-statestore": "connectionString"}


class Unready(RuntimeError):
    """A prerequisite of make up is not met; the message says which and what to do, in one line."""


@dataclass(frozen=True)
class Pins:
    """versions.toml [kind] and [go_tools.kind]."""

    kind_version: str
    kind_module: str
    node_image: str
    gateway: dict[str, Any]
    postgres: dict[str, Any]

    @classmethod
    def load(cls) -> Pins:
        data = versions.load()
        kind, tool = data["kind"], data["go_tools"]["kind"]
        return cls(tool["version"], tool["module"], kind["node_image"], dict(kind["envoy-gateway"]),
                   dict(kind["postgres"]))


# --- prerequisites ------------------------------------------------------------------------------------


def docker_missing() -> str | None:
    """Why Docker cannot be used here, in a few words, or None."""
    if not shutil.which("docker"):
        return "no docker client on PATH"
    try:
        if run(["docker", "info"], check=False, timeout=30).returncode != 0:
            return "no Docker engine is running (`docker info` fails)"
    except OSError as exc:
        return f"the docker client does not run ({exc})"
    return None


def kind_version(binary: Path | str) -> str | None:
    """The version `kind version` reports (`kind v0.31.0 go1.26.8 linux/amd64` -> v0.31.0), or None."""
    try:
        out = run([binary, "version"], check=False, timeout=20).stdout.split()
    except OSError:
        return None
    return out[1] if len(out) > 1 and out[0] == "kind" else None


def kind_binary(pins: Pins, build: bool = False) -> Path:
    """The pinned kind: the Go-built one of [go_tools.kind], else a kind on PATH reporting the pinned version,
    else (with `build`, when Go is there) built now; raises Unready saying how to get it."""
    try:
        return tools.go_tool("kind")
    except tools.ToolError:
        pass
    on_path = shutil.which("kind")
    found = kind_version(on_path) if on_path else None
    if on_path and found == pins.kind_version:
        return Path(on_path)
    if build and shutil.which("go"):
        print(f"make up: building kind {pins.kind_version} with Go (once)", file=sys.stderr)
        try:
            return tools.build_go_tool("kind")
        except tools.ToolError as exc:
            raise Unready(f"kind {pins.kind_version} could not be built: {exc}") from None
    seen = f" (the kind on PATH is {found or 'unreadable'})" if on_path else ""
    raise Unready(f"no kind {pins.kind_version}{seen}: `make tools-go` builds it (go install "
                  f"{pins.kind_module}@{pins.kind_version}), or put kind {pins.kind_version} on PATH")


def local_registry() -> str:
    """The image registry of the app in values/local.yaml (kind.local): images only `kind load` provides."""
    return str(yaml.safe_load(envs.get(ENV).values_file.read_text())["app"]["image"]["registry"])


def local_images(manifests: list[Manifest], registry: str) -> list[str]:
    """The images of the release from `registry` (the locally built app images), sorted."""
    return sorted({i for doc in manifests for i in image_references(doc) if i.startswith(f"{registry}/")})


def missing_images_message(missing: list[str]) -> str:
    """One line: which image(s) to build and tag before make up can go on."""
    if len(missing) == 1:
        return (f"the image {missing[0]} is not in the local Docker: build and tag it from the app's source "
                f"(`docker build -t {missing[0]} <its source folder>`), then run make up again")
    return (f"the images {', '.join(missing)} are not in the local Docker: build and tag each from its app's "
            f"source (`docker build -t <image> <its source folder>`), then run make up again")


def missing_images(images: list[str]) -> list[str]:
    """The images that `docker image inspect` does not find."""
    return [i for i in images if run(["docker", "image", "inspect", i], check=False, timeout=30).returncode != 0]


def release_requirements(manifests: list[Manifest]) -> list[RequiredSecret]:
    """The Secrets (with their keys) the local release reads but does not create."""
    env = envs.get(ENV)
    return release_secrets(manifests, env.namespace, [env.values_file])


@dataclass
class Context:
    """What the steps work with: found by `prepare`, completed by the steps (the database)."""

    pins: Pins
    kind: Path | str = "kind"
    required: list[RequiredSecret] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    crds: str = ""
    database: kind_secrets.Database | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def kube_context(self) -> str:
        return envs.get(ENV).kube_context


def prepare(kind: Path | str, *, check_images: bool = True) -> Context:
    """Every check that needs no change, in order; raises Unready with the first problem's one line."""
    from todo_cloud import deps
    from todo_cloud.gates import external_crds
    from todo_cloud.render import RenderError, render_environment

    ctx = Context(Pins.load(), kind)
    status = deps.ensure()
    if not status.ready:
        raise Unready(f"the umbrella's upstream charts are not in place ({status.reason}); run `make deps`")
    try:
        manifests = render_environment(ENV)
    except RenderError as exc:
        raise Unready(f"the release of {ENV} does not render: {' '.join(exc.stderr.split())}") from None
    ctx.required = release_requirements(manifests)
    try:
        kind_secrets.check(ctx.required)
    except kind_secrets.RecipeError as exc:
        raise Unready(str(exc)) from None
    ctx.images = local_images(manifests, local_registry())
    if check_images and (gone := missing_images(ctx.images)):
        raise Unready(missing_images_message(gone))
    try:
        tools.path("helm")
        tools.path("kubectl")
    except tools.ToolError as exc:
        raise Unready(str(exc)) from None
    try:
        ctx.crds = yaml.safe_dump_all(external_crds.crd_documents_of("gateway-api"), sort_keys=False)
    except external_crds.Unavailable as exc:
        raise Unready(f"the Gateway API CRDs cannot be had: {exc}") from None
    return ctx


# --- the steps ----------------------------------------------------------------------------------------


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
    return [
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
        Step("images", f"kind load docker-image {' '.join(ctx.images)} into {CLUSTER}", lambda: load_images(ctx)),
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
    from todo_cloud.kind import prepare_namespaces

    prepare_namespaces()


def container_state(name: str) -> dict[str, Any] | None:
    """`docker inspect` of a container, or None when there is none of that name."""
    proc = run(["docker", "inspect", "--type", "container", name], check=False, timeout=30)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def container_env(state: dict[str, Any]) -> dict[str, str]:
    """The environment a container was started with (`Config.Env`)."""
    pairs = (e.split("=", 1) for e in (state.get("Config") or {}).get("Env") or [] if "=" in e)
    return dict(pairs)


def container_ip(state: dict[str, Any], network: str) -> str | None:
    net = ((state.get("NetworkSettings") or {}).get("Networks") or {}).get(network) or {}
    return net.get("IPAddress") or None


def database_of(state: dict[str, Any], pins: dict[str, Any]) -> kind_secrets.Database:
    """How pods reach the container: its address on the kind network, and the role it was started with."""
    env = container_env(state)
    ip = container_ip(state, pins["network"])
    if not ip:
        raise Unready(f"the container {pins['container']} has no address on the Docker network {pins['network']}")
    if "POSTGRES_PASSWORD" not in env:
        raise Unready(f"the container {pins['container']} was not started with POSTGRES_PASSWORD: remove it "
                      f"(`docker rm -f {pins['container']}`) and run make up again")
    user = env.get("POSTGRES_USER", "postgres")
    return kind_secrets.Database(ip, int(pins["port"]), user, env["POSTGRES_PASSWORD"], env.get("POSTGRES_DB") or user)


def start_postgres(ctx: Context) -> None:
    pg = ctx.pins.postgres
    name, network = pg["container"], pg["network"]
    state = container_state(name)
    if state is None:
        # The password lives only in the container's environment and in the Secrets made from it.
        run(["docker", "run", "--detach", "--name", name, "--network", network, "--restart", "unless-stopped",
             "--env", f"POSTGRES_USER={pg['user']}", "--env", f"POSTGRES_PASSWORD={secrets.token_hex(24)}",
             "--env", f"POSTGRES_DB={pg['database']}", pg["image"]], timeout=600)
    else:
        if not container_ip(state, network):
            run(["docker", "network", "connect", network, name], timeout=60)
        if not (state.get("State") or {}).get("Running"):
            run(["docker", "start", name], timeout=120)
        image = (state.get("Config") or {}).get("Image")
        if image != pg["image"]:
            ctx.warnings.append(f"warning: the container {name} runs {image}, not the pinned {pg['image']}; "
                                f"kept with its data (`docker rm -f {name}` and make up again to replace it)")
    state = container_state(name)
    if state is None:
        raise Unready(f"the container {name} disappeared after its start")
    ctx.database = database_of(state, pg)
    wait_for_postgres(name, ctx.database)
    cidr = ((yaml.safe_load(envs.get(ENV).values_file.read_text())["app"].get("networkPolicy") or {})
            .get("database") or {}).get("cidr")
    if cidr and ipaddress.ip_address(ctx.database.host) not in ipaddress.ip_network(cidr):
        ctx.warnings.append(f"warning: PostgreSQL is at {ctx.database.host}, outside app.networkPolicy.database.cidr "
                            f"{cidr} of values/local.yaml: the backend's NetworkPolicy will block it")


def wait_for_postgres(name: str, db: kind_secrets.Database, timeout: float = PG_READY_TIMEOUT) -> None:
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
    """The cluster's Secrets through the pinned kubectl (kind_secrets.SecretStore)."""

    ctx: Context

    def existing(self, namespace: str) -> set[str]:
        out = kubectl(self.ctx, "get", "secrets", "--namespace", namespace, "-o",
                      "jsonpath={.items[*].metadata.name}").stdout
        return set(out.split())

    def create(self, obj: dict[str, Any]) -> None:
        kubectl(self.ctx, "create", "-f", "-", input=json.dumps(obj))

    def value(self, namespace: str, name: str, key: str) -> str | None:
        import base64

        proc = kubectl(self.ctx, "get", "secret", name, "--namespace", namespace, "-o", "json", check=False)
        if proc.returncode != 0:
            return None
        data = json.loads(proc.stdout).get("data") or {}
        return base64.b64decode(data[key]).decode() if key in data else None


def create_secrets(ctx: Context) -> None:
    if ctx.database is None:
        raise Unready("the secrets step needs the PostgreSQL step first")
    store = KubectlSecrets(ctx)
    outcome = kind_secrets.ensure(ctx.required, kind_secrets.Inputs.from_environment(ctx.database), store)
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


def load_images(ctx: Context) -> None:
    if ctx.images:
        stream([ctx.kind, "load", "docker-image", "--name", CLUSTER, *ctx.images])


def deploy() -> None:
    from todo_cloud.cli import main as cli

    code = cli(["deploy", "--env", ENV])
    if code != 0:
        raise DeployFailed(code)


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

