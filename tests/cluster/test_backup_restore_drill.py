"""The Velero restore drill: the release as the deploy command installed it on the simulated production cluster is
backed up by a real Velero server (built at the chart's appVersion) with the release's own storage location, Schedule
and volume policy, to a real S3 server on 127.0.0.1, by the runbook's command (`velero backup create
--from-schedule`); a second Velero server on a fresh simulated cluster finds the backup in the bucket, as it would
after a cluster is lost, and restores it (`velero restore create --from-backup`); every object of the release must
come back as it was (kinds, names, specs; minus what the API server sets on any new object).

What differs from the clusters: the storage location points at the loopback S3 server (path-style), Velero watches
a namespace of its own (`velero-drill`, removed from the source cluster afterwards, so the installed release is
left as it was), and no volume is snapshotted (the simulated cluster has no CSI driver: Velero reports the volumes
the policy marks for a snapshot as skipped, with no snapshot location). Every wait is bounded; the processes' logs
(the S3 server, both Velero servers) stay in the drill's folder, named in every failure.
"""

from __future__ import annotations

import copy
import json
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.support import Deployment, helm
from todo_cloud.manifests import Manifest, object_id
from todo_cloud.processes import Supervisor
from todo_cloud.runtime import s3, velero
from todo_cloud.sim import cluster as sim

ENV = "production"
pytestmark = pytest.mark.parametrize("sim_cluster", [ENV], indirect=True)

# The namespace both Velero servers watch (their storage location, Schedule, Backups and Restores).
DRILL_NAMESPACE = "velero-drill"
# The release's Schedule whose backup is restored (values/production.yaml velero.schedules).
SCHEDULE = "daily"
BACKUP_TIMEOUT = 180.0
RESTORE_TIMEOUT = 240.0
# What the API server sets on every object it stores, and what Velero marks a restored object with.
SERVER_SET_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink")
RESTORE_LABELS = ("velero.io/backup-name", "velero.io/restore-name")


@dataclass
class Drill:
    """What the drill did and found: the Velero objects as they ended, what Velero wrote of them to the bucket,
    the release's objects on both clusters, and its Helm record on both."""

    workdir: Path
    backup: dict[str, Any]
    backup_results: dict[str, Any]
    restore: dict[str, Any]
    restore_results: dict[str, Any]
    bucket_keys: list[str]
    backup_items: set[str]
    plurals: dict[tuple[str, str], str]
    release: list[Manifest]
    source: dict[str, Manifest]
    restored: dict[str, Manifest]
    source_helm: dict[str, Any]
    restored_helm: dict[str, Any]
    # (namespace, name) of the Secrets made by hand before the deploy (what Git does not hold).
    created_secrets: list[tuple[str, str]]
    timings: dict[str, float] = field(default_factory=dict)


def group_of(obj: Manifest) -> str:
    return obj["apiVersion"].rsplit("/", 1)[0] if "/" in obj["apiVersion"] else ""


def key(obj: Manifest) -> str:
    """`group/Kind/namespace/name` of an object (rendered, or as a cluster returns it)."""
    return f"{group_of(obj)}/{object_id(obj)}"


def resource_names(objects: list[Manifest]) -> str:
    """kubectl's comma-separated resource list for the kinds of `objects` (`<kind>.<group>`)."""
    names = {f"{o['kind'].lower()}.{group_of(o)}" if group_of(o) else o["kind"].lower() for o in objects}
    return ",".join(sorted(names))


def plurals(cluster: sim.Cluster) -> dict[tuple[str, str], str]:
    """(group, kind) -> the resource's plural name, as the cluster's API discovery says."""
    out: dict[tuple[str, str], str] = {}
    for line in cluster.kubectl("api-resources", "--no-headers", timeout=60).stdout.splitlines():
        name, *middle, kind = line.split()
        api_version = middle[-2]
        out[(api_version.rsplit("/", 1)[0] if "/" in api_version else "", kind)] = name
    return out


def live_objects(cluster: sim.Cluster, kinds: str) -> dict[str, Manifest]:
    """Every object of `kinds` in the cluster, by key; kinds the cluster does not serve yield nothing."""
    got = cluster.kubectl("get", kinds, "-A", "-o", "json", check=False, timeout=120)
    items = json.loads(got.stdout)["items"] if got.returncode == 0 else []
    if got.returncode != 0:  # a kind the cluster lacks fails the whole list: ask kind by kind
        for kind in kinds.split(","):
            one = cluster.kubectl("get", kind, "-A", "-o", "json", check=False, timeout=60)
            items += json.loads(one.stdout)["items"] if one.returncode == 0 else []
    return {key(o): o for o in items}


def helm_release(cluster: sim.Cluster, release: str, namespace: str) -> dict[str, Any]:
    got = helm(cluster, "status", release, "-n", namespace, "-o", "json")
    return json.loads(got.output[got.output.index("{"):]) if got.returncode == 0 else {"error": got.output}


def wait_until(what: str, ready: Callable[[], Any], server: velero.Server, sup: Supervisor,
               timeout: float = BACKUP_TIMEOUT) -> Any:
    """Poll `ready` until it returns something true (returned), bounded by `timeout`; VeleroFailed naming `what`
    and the server's log when the server exits or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not (got := ready()):
        sup.check_alive(server.name)
        if time.monotonic() > deadline:
            raise velero.VeleroFailed(f"{what}: not after {timeout:.0f} s; last lines of {server.log}:\n"
                                      f"{sup.tail(server.name, 40)}")
        time.sleep(1)
    return got


def schedule_phase(cluster: sim.Cluster, name: str) -> str | None:
    """The phase Velero gave the Schedule (Enabled once its cron and template validate)."""
    return ((velero.get(cluster.kubectl, "Schedule", DRILL_NAMESPACE, name) or {}).get("status") or {}).get("phase")


def backup_of(cluster: sim.Cluster, schedule: str) -> str | None:
    """The name of the Backup made from `schedule`, None before there is one."""
    got = cluster.kubectl("-n", DRILL_NAMESPACE, "get", "backups.velero.io", "-l",
                          f"velero.io/schedule-name={schedule}", "-o", "name", check=False, timeout=30)
    return got.stdout.split()[0].split("/", 1)[1] if got.returncode == 0 and got.stdout.strip() else None


def backup_items(store: s3.ObjectStore, the_plan: velero.Plan, backup: str) -> set[str]:
    """`resource/namespace/name` of every item in the backup's tarball in the bucket (`-` for cluster-scoped)."""
    tarball = store.root / the_plan.bucket / the_plan.prefix / "backups" / backup / f"{backup}.tar.gz"
    found: set[str] = set()
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts  # resources/<resource>/{namespaces/<ns>|cluster}/[<version>/]<name>.json
            if member.isfile() and parts[0] == "resources" and not any(p.endswith("-preferredversion")
                                                                       for p in parts):
                scope = parts[3] if parts[2] == "namespaces" else "-"
                found.add(f"{parts[1]}/{scope}/{Path(parts[-1]).stem}")
    return found


@dataclass(frozen=True)
class Binaries:
    """The drill's builds (todo_cloud.prereqs): the S3 server, Velero (server and client) and its AWS plugin."""

    s3: Path
    velero: Path
    plugin: Path


@pytest.fixture(scope="module")
def binaries(prerequisite: Callable[[str], Path]) -> Binaries:
    return Binaries(prerequisite("versitygw"), prerequisite("velero"), prerequisite("velero-plugin-for-aws"))


@pytest.fixture(scope="module")
def drill(deployment: Deployment, sim_binaries: Path, binaries: Binaries,
          tmp_path_factory: pytest.TempPathFactory) -> Drill:
    assert deployment.result.returncode == 0, (f"the release did not install; nothing to back up:\n"
                                               f"{deployment.result.output[-3000:]}")
    workdir = tmp_path_factory.mktemp("velero-drill")
    rendered, source, env = deployment.manifests, deployment.cluster, deployment.env
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DRILL_NAMESPACE}}
    release_kinds = resource_names([*rendered, {"apiVersion": "v1", "kind": "Secret"}])
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    with Supervisor(workdir / "processes") as sup:
        store = s3.start(sup, binaries.s3, workdir / "s3", velero.region(rendered))

        def plan_for(cluster: sim.Cluster, name: str) -> velero.Plan:
            return velero.plan(rendered, store, kubeconfig=cluster.kubeconfig, namespace=DRILL_NAMESPACE,
                               schedule=SCHEDULE, plugin_dir=workdir / f"{name}-plugins",
                               metrics_port=sup.free_port(), profiler_port=sup.free_port())

        # 1. the installed release, backed up from its own Schedule to the bucket
        first = plan_for(source, "source")
        store.create_bucket(first.bucket)
        try:
            source.apply([namespace, *first.objects])
            server = velero.start(sup, "velero-source", first, store, workdir, binary=binaries.velero,
                                  plugin=binaries.plugin)
            phase = wait_until(f"Schedule {first.schedule} validated", lambda: schedule_phase(source, first.schedule),
                               server, sup)
            assert phase == "Enabled", f"Velero refused Schedule {first.schedule}: phase {phase}"
            velero.cli(binaries.velero, source.kubeconfig, DRILL_NAMESPACE, "backup", "create", "--from-schedule",
                       first.schedule, home=workdir)
            name = wait_until(f"a Backup from {first.schedule}", lambda: backup_of(source, first.schedule), server,
                              sup)
            backup = velero.wait_done(source.kubectl, "Backup", DRILL_NAMESPACE, name, server,
                                      timeout=BACKUP_TIMEOUT, sup=sup)
            sup.stop("velero-source")
            timings["backup"] = time.monotonic() - t0
            before = live_objects(source, release_kinds)
            source_helm = helm_release(source, env.release, env.namespace)
            kinds = plurals(source)
        finally:
            sup.stop("velero-source")
            source.kubectl("delete", "namespace", DRILL_NAMESPACE, "--wait=false", check=False, timeout=60)
        keys = store.keys(first.bucket)
        items = backup_items(store, first, name) if backup["status"]["phase"] != "Failed" else set()

        # 2. a fresh cluster: Velero's CRDs and storage location, a server that finds the backup and restores it
        t1 = time.monotonic()
        with sim.running(ENV, binaries=sim_binaries) as fresh:
            timings["fresh cluster"] = time.monotonic() - t1
            crd_stream = velero.crd_documents()
            fresh.kubectl("apply", "--server-side", "-f", "-", input=crd_stream, timeout=120)
            fresh.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", "-", input=crd_stream,
                          timeout=90)
            second = plan_for(fresh, "fresh")
            # no Schedule: nothing backs the fresh cluster up meanwhile
            fresh.apply([namespace, *(o for o in second.objects if o["kind"] != "Schedule")])
            server = velero.start(sup, "velero-fresh", second, store, workdir, binary=binaries.velero,
                                  plugin=binaries.plugin)
            wait_until(f"backup {name} found in the bucket by the fresh cluster's Velero",
                       lambda: velero.get(fresh.kubectl, "Backup", DRILL_NAMESPACE, name), server, sup)
            restore_name = f"{name}-drill"
            velero.cli(binaries.velero, fresh.kubeconfig, DRILL_NAMESPACE, "restore", "create", restore_name,
                       "--from-backup", name, home=workdir)
            restore = velero.wait_done(fresh.kubectl, "Restore", DRILL_NAMESPACE, restore_name, server,
                                       timeout=RESTORE_TIMEOUT, sup=sup)
            sup.stop("velero-fresh")
            timings["restore"] = time.monotonic() - t1
            after = live_objects(fresh, release_kinds)
            restored_helm = helm_release(fresh, env.release, env.namespace)
    timings["total"] = time.monotonic() - t0
    (workdir / "timings.json").write_text(json.dumps(timings, indent=1))
    return Drill(workdir, backup, velero.results(store, first, "Backup", name), restore,
                 velero.results(store, second, "Restore", restore_name), keys, items, kinds, rendered, before,
                 after, source_helm, restored_helm, deployment.created_secrets, timings)


# --- comparison -----------------------------------------------------------------------------------------------


def comparable(obj: Manifest) -> Manifest:
    """An object without what the API server sets on a new object and what Velero marks a restored one with. A
    Service's cluster IP is the API server's allocation: Velero clears it on restore (a headless Service keeps
    `None`, and that is compared)."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    if out["kind"] == "Service" and out["spec"].get("clusterIP") != "None":
        for allocated in ("clusterIP", "clusterIPs"):
            out["spec"].pop(allocated, None)
    meta = out["metadata"]
    for name in SERVER_SET_METADATA:
        meta.pop(name, None)
    meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if k not in RESTORE_LABELS}
    for ref in meta.get("ownerReferences") or []:
        ref.pop("uid", None)
    return out


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two objects differ, as `path: before -> after` lines."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [line for k in sorted(set(before) | set(after), key=str)
                for line in differences(before.get(k), after.get(k), f"{path}.{k}" if path else str(k))]
    if before != after:
        return [f"{path}: {json.dumps(before)[:200]} -> {json.dumps(after)[:200]}"]
    return []


def release_keys(drill: Drill) -> set[str]:
    """The release's namespaced objects (as `helm get manifest` has them: no hooks, no test pods) that the source
    cluster holds."""
    return {k for k in (key(o) for o in drill.release
                                        if not (o["metadata"].get("annotations") or {}).get("helm.sh/hook"))
            if k in drill.source and drill.source[k]["metadata"].get("namespace")}


def namespaced_release_keys(drill: Drill) -> list[str]:
    """The release's namespaced objects in the namespaces the backup includes, of kinds it does not exclude, and
    the Secrets made by hand before the deploy."""
    template = drill.backup["spec"]
    excluded = {*(template.get("excludedResources") or []), *(template.get("excludedNamespaceScopedResources") or [])}
    keys = {k for k in release_keys(drill) if drill.source[k]["metadata"]["namespace"] in
            template["includedNamespaces"] and resource(drill, drill.source[k]) not in excluded}
    keys |= {f"/Secret/{namespace}/{name}" for namespace, name in drill.created_secrets}
    return sorted(keys)


def resource(drill: Drill, obj: Manifest) -> str:
    """The resource name Velero files an object under: `<plural>[.<group>]`."""
    plural = drill.plurals[(group_of(obj), obj["kind"])]
    return f"{plural}.{group_of(obj)}" if group_of(obj) else plural


# --- what the drill shows ------------------------------------------------------------------------------------


def test_the_schedule_backs_the_release_up_to_the_bucket(drill: Drill) -> None:
    name = drill.backup["metadata"]["name"]
    assert drill.backup["status"]["phase"] == "Completed", (drill.backup["status"], drill.backup_results)
    assert drill.backup["spec"]["includedNamespaces"] == ["todo-chatbot", "todo-chatbot-node"]
    prefix = f"velero/backups/{name}/"
    assert {f"{prefix}velero-backup.json", f"{prefix}{name}.tar.gz"} <= set(drill.bucket_keys), drill.bucket_keys


def test_the_release_objects_outside_the_backed_up_namespaces_are_kube_systems_only(drill: Drill) -> None:
    # kube-prometheus-stack's scrape Services of the control plane live in kube-system, which no backup takes
    # (DOKS manages it); after a restore, `make deploy` puts them back (docs/RUNBOOK.md "Disaster recovery").
    included = drill.backup["spec"]["includedNamespaces"]
    outside = sorted(k for k in release_keys(drill) if drill.source[k]["metadata"]["namespace"] not in included)
    assert outside and {drill.source[k]["metadata"]["namespace"] for k in outside} == {"kube-system"}, outside


def test_every_namespaced_object_of_the_release_is_in_the_backup(drill: Drill) -> None:
    def item(obj: Manifest) -> str:
        return f"{resource(drill, obj)}/{obj['metadata']['namespace']}/{obj['metadata']['name']}"

    keys = namespaced_release_keys(drill)
    assert len(keys) > 100, keys
    assert [k for k in keys if item(drill.source[k]) not in drill.backup_items] == []


def test_the_restore_into_a_fresh_cluster_completes_without_errors(drill: Drill) -> None:
    status = drill.restore["status"]
    assert status["phase"] == "Completed" and not status.get("errors"), (status, drill.restore_results)


def test_every_object_of_the_release_comes_back_as_it_was(drill: Drill) -> None:
    keys = namespaced_release_keys(drill)
    lost = [k for k in keys if k not in drill.restored]
    changed = {k: d for k in keys if k in drill.restored
               and (d := differences(comparable(drill.source[k]), comparable(drill.restored[k])))}
    assert (lost, changed) == ([], {}), yaml.safe_dump({"not restored": lost, "restored differently": changed},
                                                        width=160)


def test_the_helm_release_comes_back_at_its_revision(drill: Drill) -> None:
    assert drill.restored_helm.get("info", {}).get("status") == "deployed", drill.restored_helm
    assert drill.restored_helm["version"] == drill.source_helm["version"]
