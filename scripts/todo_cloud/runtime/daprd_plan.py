"""What a self-hosted daprd of one app loads and how it is started: a pure function of the rendered objects.

In the cluster, the sidecar injector starts daprd next to each app from the pod's `dapr.io/*` annotations,
and the Dapr operator hands it the Components, Resiliency and Subscriptions scoped to its app id, the
Configuration the pod names, and resolves every `secretKeyRef` from the namespace's Secrets. On loopback,
`plan()` does the same from the rendered objects, with these rewrites, each made here and only here:

- addresses: a component metadata value that is an in-cluster address the run serves elsewhere (the Kafka
  bootstrap Service `<cluster>-kafka-bootstrap:<port>` -> the run's brokers, `KafkaCluster.address_map`) is
  replaced by the run's address (`with_run_addresses`); no other value of a component changes;
- secrets: each component that has `secretKeyRef`s gets `auth.secretStore: <HARNESS_SECRET_STORE>`, a
  `secretstores.local.file` component (multi-valued, scoped to the app) whose file holds the referenced
  Secrets by name, each with its keys, so a `secretKeyRef {name, key}` reads the same Secret key as in the
  cluster (`with_harness_secrets`);
- Configuration: `spec.tracing.otel.endpointAddress` points at the run's Jaeger; `spec.nameResolution` uses
  the SQLite resolver on a file of the run (mDNS does not work on loopback, Kubernetes DNS is not there);
  `spec.mtls` is dropped (no Sentry runs: daprd talks to daprd in plain gRPC on 127.0.0.1) (`configuration`);
- ports: every daprd port and the app's port are chosen at start; the rendered app port (`dapr.io/app-port`)
  is where the app listens in its pod, a stand-in app on loopback listens where the harness says;
- the API token: `dapr.io/api-token-secret` names the Secret whose `token` key the injector puts in
  DAPR_API_TOKEN; the harness supplies that Secret like the others.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from todo_cloud.manifests import Manifest, dapr_app_id, pod_annotations

# Name of the harness's secret store component (a name no rendered component may take).
HARNESS_SECRET_STORE = "harness-secrets"
# Key of the API token in the Secret that `dapr.io/api-token-secret` names (as the sidecar injector reads it).
API_TOKEN_KEY = "token"
DAPR_KINDS = ("Component", "Configuration", "Resiliency", "Subscription")


class PlanError(ValueError):
    """The rendered objects cannot make a daprd for an app; the message names the object and key."""


@dataclass(frozen=True)
class App:
    """One Dapr-enabled workload, from its pod template's `dapr.io/*` annotations."""

    app_id: str
    workload: str
    app_port: int | None
    app_protocol: str
    config: str | None
    health_check_path: str | None
    api_token_secret: str | None
    metrics: bool
    log_level: str
    log_as_json: bool
    graceful_shutdown_seconds: int | None
    annotations: Mapping[str, str] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Ports:
    """Ports of one daprd, chosen at start."""

    http: int
    grpc: int
    internal_grpc: int
    metrics: int


@dataclass(frozen=True)
class SecretRef:
    """One `secretKeyRef` of a component's metadata entry."""

    component: str
    entry: str
    secret: str
    key: str


@dataclass
class DaprdPlan:
    """Everything one daprd needs: files to write (relative to its folder), argv and environment."""

    app: App
    app_port: int | None
    resources: dict[str, Manifest]
    configuration: Manifest
    secrets: dict[str, dict[str, str]]
    api_token: str | None
    ports: Ports

    RESOURCES = "resources"
    CONFIG = "config.yaml"
    SECRETS = "secrets.json"

    def files(self) -> dict[str, str]:
        """Relative path -> text of every file of this daprd's folder."""
        out = {f"{self.RESOURCES}/{name}": _yaml(obj) for name, obj in self.resources.items()}
        out[self.CONFIG] = _yaml(self.configuration)
        out[self.SECRETS] = json.dumps(self.secrets, indent=1, sort_keys=True)
        return out

    def argv(self, binary: Path, folder: Path) -> list[str]:
        """The daprd command line (folder: where `files()` were written)."""
        a = self.app
        args = [str(binary), "--mode", "standalone", "--app-id", a.app_id,
                "--resources-path", str(folder / self.RESOURCES), "--config", str(folder / self.CONFIG),
                "--dapr-listen-addresses", "127.0.0.1", "--dapr-http-port", str(self.ports.http),
                "--dapr-grpc-port", str(self.ports.grpc), "--dapr-internal-grpc-port", str(self.ports.internal_grpc),
                "--dapr-internal-grpc-listen-address", "127.0.0.1",
                "--enable-metrics" if a.metrics else "--enable-metrics=false",
                "--metrics-port", str(self.ports.metrics), "--metrics-listen-address", "127.0.0.1",
                "--log-level", a.log_level]
        if a.log_as_json:
            args.append("--log-as-json")
        if self.app_port is not None:
            args += ["--app-port", str(self.app_port), "--app-protocol", a.app_protocol,
                     "--app-channel-address", "127.0.0.1"]
            if a.health_check_path:
                args += ["--enable-app-health-check", "--app-health-check-path", a.health_check_path,
                         "--app-health-probe-interval", "1"]
        if a.graceful_shutdown_seconds is not None:
            args += ["--dapr-graceful-shutdown-seconds", str(min(a.graceful_shutdown_seconds, 2))]
        return args

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """daprd's environment: the API token as the injector sets it, the host address on loopback."""
        env = {k: v for k, v in base.items() if not k.startswith(("DAPR_", "APP_API_TOKEN"))}
        env["DAPR_HOST_IP"] = "127.0.0.1"
        if self.api_token is not None:
            env["DAPR_API_TOKEN"] = self.api_token
        return env


def _yaml(obj: Manifest) -> str:
    # JSON is YAML; daprd reads both, and JSON needs no YAML library in this pure module.
    return json.dumps(obj, indent=1)


# --- reading the rendered objects -------------------------------------------------------------------------


def apps(rendered: Iterable[Manifest]) -> dict[str, App]:
    """Every workload the sidecar injector gives a daprd (`dapr.io/enabled: "true"`), by app id."""
    out: dict[str, App] = {}
    for obj in rendered:
        if dapr_app_id(obj) is None:
            continue
        ann = pod_annotations(obj)
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        app_id = ann.get("dapr.io/app-id") or obj["metadata"]["name"]
        if app_id in out:
            raise PlanError(f"{name}: dapr.io/app-id {app_id!r} is also the app id of {out[app_id].workload}")
        port = ann.get("dapr.io/app-port")
        grace = ann.get("dapr.io/graceful-shutdown-seconds")
        out[app_id] = App(
            app_id=app_id, workload=name, app_port=int(port) if port else None,
            app_protocol=ann.get("dapr.io/app-protocol", "http"), config=ann.get("dapr.io/config"),
            health_check_path=(ann.get("dapr.io/app-health-check-path", "/healthz")
                               if ann.get("dapr.io/enable-app-health-check") == "true" else None),
            api_token_secret=ann.get("dapr.io/api-token-secret"),
            metrics=ann.get("dapr.io/enable-metrics", "true") == "true",
            log_level=ann.get("dapr.io/log-level", "info"), log_as_json=ann.get("dapr.io/log-as-json") == "true",
            graceful_shutdown_seconds=int(grace) if grace else None, annotations=dict(ann))
    return out


def dapr_objects(rendered: Iterable[Manifest], kind: str) -> list[Manifest]:
    return [o for o in rendered if o.get("kind") == kind and str(o.get("apiVersion", "")).startswith("dapr.io/")]


def in_scope(obj: Manifest, app_id: str) -> bool:
    """Whether the operator hands `obj` to `app_id`'s sidecar (no `scopes`: every app)."""
    scopes = obj.get("scopes")
    return not scopes or app_id in scopes


def component_types(rendered: Iterable[Manifest]) -> set[str]:
    """`spec.type` of every rendered Component."""
    return {c["spec"]["type"] for c in dapr_objects(rendered, "Component")}


def secret_refs(component: Manifest) -> list[SecretRef]:
    """The `secretKeyRef`s of a component's metadata, in order."""
    name = component["metadata"]["name"]
    refs = []
    for entry in component.get("spec", {}).get("metadata", []) or []:
        ref = entry.get("secretKeyRef")
        if ref:
            refs.append(SecretRef(name, entry["name"], ref["name"], ref.get("key", ref["name"])))
    return refs


# --- the rewrites -------------------------------------------------------------------------------------------


def with_harness_secrets(component: Manifest) -> Manifest:
    """The component reading its `secretKeyRef`s from the harness's secret store (the only rewrite of a
    Component; its metadata, type, version and scopes stay as rendered)."""
    out = copy.deepcopy(component)
    if secret_refs(component):
        out["auth"] = {"secretStore": HARNESS_SECRET_STORE}
    return out


def with_run_addresses(component: Manifest, addresses: Mapping[str, str]) -> Manifest:
    """The component with every metadata value that is a key of `addresses` (an in-cluster host:port) replaced
    by the run's address for it."""
    out = copy.deepcopy(component)
    for entry in out.get("spec", {}).get("metadata") or []:
        value = entry.get("value")
        if isinstance(value, str) and value in addresses:
            entry["value"] = addresses[value]
    return out


def harness_secret_store(app_id: str, secrets_file: Path) -> Manifest:
    """The local file secret store holding, by Secret name, the keys the app's components reference."""
    return {
        "apiVersion": "dapr.io/v1alpha1", "kind": "Component", "metadata": {"name": HARNESS_SECRET_STORE},
        "spec": {"type": "secretstores.local.file", "version": "v1", "metadata": [
            {"name": "secretsFile", "value": str(secrets_file)},
            {"name": "multiValued", "value": "true"},
        ]},
        "scopes": [app_id],
    }


def configuration(rendered_config: Manifest, *, tracing_endpoint: str | None, name_resolution_db: Path) -> Manifest:
    """The rendered Configuration as a self-hosted daprd of the run reads it (see the module docstring)."""
    out = copy.deepcopy(rendered_config)
    spec = out.setdefault("spec", {})
    otel = spec.get("tracing", {}).get("otel")
    if otel is not None and tracing_endpoint is not None:
        otel["endpointAddress"] = tracing_endpoint
    spec.pop("mtls", None)
    spec["nameResolution"] = {"component": "sqlite", "version": "v1",
                              "configuration": {"connectionString": str(name_resolution_db)}}
    return out


# --- the plan -----------------------------------------------------------------------------------------------


def _file_name(obj: Manifest) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def plan(rendered: list[Manifest], app_id: str, *, ports: Ports, folder: Path, name_resolution_db: Path,
         secrets: Mapping[str, Mapping[str, str]], tracing_endpoint: str | None,
         app_port: int | None = None, leave_out: Collection[str] = (),
         replace: Mapping[str, Manifest] | None = None, addresses: Mapping[str, str] | None = None) -> DaprdPlan:
    """The daprd of `app_id` from the rendered objects.

    folder: where `files()` are written; name_resolution_db: the SQLite file shared by the run's daprds.
    tracing_endpoint: OTLP endpoint (host:port) of the run's Jaeger, None to keep the rendered one.
    secrets: the namespace's Secrets as the cluster would have them (name -> key -> value); only those the
    app's components and its API token reference are handed over, and a missing one is a PlanError naming
    the component, the metadata entry, the Secret and the key.
    leave_out: names of components the run does not load (each test says why: e.g. no Kafka in this run).
    replace: components to load instead of the rendered ones of the same name (a test's broken variant).
    addresses: in-cluster address (host:port) -> the run's, for the servers the run starts (Kafka).
    """
    known = apps(rendered)
    if app_id not in known:
        raise PlanError(f"no rendered workload has dapr.io/app-id {app_id!r} (have: {', '.join(sorted(known))})")
    app = known[app_id]
    resources: dict[str, Manifest] = {}
    needed: list[SecretRef] = []
    components = {c["metadata"]["name"]: c for c in dapr_objects(rendered, "Component")}
    unknown = (set(leave_out) | set(replace or {})) - set(components)
    if unknown:
        raise PlanError(f"no rendered Component named {', '.join(sorted(unknown))} "
                        f"(have: {', '.join(sorted(components))})")
    if HARNESS_SECRET_STORE in components:
        raise PlanError(f"Component/{HARNESS_SECRET_STORE}: the name is the harness's secret store's")
    for name, comp in sorted({**components, **(replace or {})}.items()):
        if name in leave_out or not in_scope(comp, app_id):
            continue
        needed += secret_refs(comp)
        resources[_file_name(comp)] = with_harness_secrets(with_run_addresses(comp, addresses or {}))
    for kind in ("Resiliency", "Subscription"):
        for obj in dapr_objects(rendered, kind):
            if in_scope(obj, app_id):
                resources[_file_name(obj)] = copy.deepcopy(obj)
    handed: dict[str, dict[str, str]] = {}
    for ref in needed:
        value = secrets.get(ref.secret, {}).get(ref.key)
        if value is None:
            raise PlanError(f"Component/{ref.component} metadata {ref.entry}: secretKeyRef {ref.secret}/{ref.key} "
                            f"is not among the Secrets supplied to the run")
        handed.setdefault(ref.secret, {})[ref.key] = value
    secrets_file = folder / DaprdPlan.SECRETS
    resources[f"component-{HARNESS_SECRET_STORE}.yaml"] = harness_secret_store(app_id, secrets_file)
    token = None
    if app.api_token_secret:
        token = secrets.get(app.api_token_secret, {}).get(API_TOKEN_KEY)
        if token is None:
            raise PlanError(f"{app.workload}: dapr.io/api-token-secret {app.api_token_secret}/{API_TOKEN_KEY} is not "
                            f"among the Secrets supplied to the run")
    configs = {c["metadata"]["name"]: c for c in dapr_objects(rendered, "Configuration")}
    if app.config and app.config not in configs:
        raise PlanError(f"{app.workload}: dapr.io/config names Configuration {app.config!r}, which is not rendered")
    base = configs[app.config] if app.config else {"apiVersion": "dapr.io/v1alpha1", "kind": "Configuration",
                                                   "metadata": {"name": "default"}, "spec": {}}
    config = configuration(base, tracing_endpoint=tracing_endpoint,
                           name_resolution_db=name_resolution_db)
    return DaprdPlan(app=app, app_port=app_port if app_port is not None else app.app_port, resources=resources,
                     configuration=config, secrets=handed, api_token=token, ports=ports)
