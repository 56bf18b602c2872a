"""The deploy's decisions, tested against RECORDED COMMAND SEQUENCES (a fake runner with canned cluster
answers, see recorded.py), not a live cluster: install order, the first-install phase, health check,
rollback to the last good revision, and refusals that change nothing."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.delivery.recorded import DIGEST, NO_RELEASE, SECRETS, UPSTREAM_PINNED, cluster, history, small_release
from todo_cloud import envs
from todo_cloud.deploy.execute import Outcome
from todo_cloud.deploy.runner import Result

ENV_NAMES = envs.names()
UPGRADE = [history((1, "superseded"), (2, "deployed"))]


def answers(env: str, **kw: object) -> dict:
    return cluster(envs.get(env), secrets=SECRETS, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_recorded_first_install_applies_crds_then_infrastructure_then_the_release_then_health(run_deploy, env):
    outcome, runner, _ = run_deploy(env, answers(env))
    assert outcome is Outcome.OK
    assert runner.heads() == [
        "kubectl config current-context",
        "kubectl get secrets",
        "helm history todo-chatbot",
        "kubectl get",
        "kubectl apply",  # namespaces with their Pod Security levels
        "kubectl apply",  # CRDs
        "helm upgrade todo-chatbot",
        "kubectl wait deployment/dapr-sidecar-injector",
        "helm upgrade todo-chatbot",
        "helm test todo-chatbot",
        "kubectl rollout status deployment/dapr-sidecar-injector",
        "kubectl rollout status deployment/todo-chatbot-backend",
        "kubectl rollout status statefulset/todo-chatbot-loki",
    ]


def test_recorded_first_install_phase_disables_workloads_and_the_full_release_does_not(run_deploy):
    _, runner, _ = run_deploy("staging", answers("staging"))
    infra, full = [c for c in runner.calls if c[:2] == ("helm", "upgrade")]
    assert infra[-2:] == ("--set", "global.workloads.enabled=false")
    assert "global.workloads.enabled=false" not in full


@pytest.mark.parametrize("env", ENV_NAMES)
def test_recorded_upgrade_skips_the_infrastructure_phase(run_deploy, env):
    outcome, runner, _ = run_deploy(env, answers(env, revisions=UPGRADE))
    assert outcome is Outcome.OK
    heads = runner.heads()
    assert heads.count("helm upgrade todo-chatbot") == 1
    assert "kubectl wait deployment/dapr-sidecar-injector" not in heads
    order = [heads.index(h) for h in ("kubectl apply", "helm upgrade todo-chatbot", "helm test todo-chatbot")]
    assert order == sorted(order)


def _applies(runner) -> list[int]:  # type: ignore[no-untyped-def]
    """Indexes of the `kubectl apply` calls: namespaces first, then the CRDs."""
    return [i for i, head in enumerate(runner.heads()) if head == "kubectl apply"]


@pytest.mark.parametrize("env", ENV_NAMES)
def test_recorded_namespaces_are_applied_first_with_their_pod_security_levels(run_deploy, env):
    _, runner, _ = run_deploy(env, answers(env, revisions=UPGRADE))
    first, crds = _applies(runner)
    assert first < crds < runner.heads().index("helm upgrade todo-chatbot")
    assert {"--server-side", "--force-conflicts", "--filename", "-"} <= set(runner.calls[first])
    namespaces = {d["metadata"]["name"]: d["metadata"]["labels"] for d in yaml.safe_load_all(runner.inputs[first])}
    assert set(namespaces) == {"todo-chatbot", "todo-chatbot-node"}
    assert namespaces["todo-chatbot"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert namespaces["todo-chatbot-node"]["pod-security.kubernetes.io/enforce"] == "privileged"
    for labels in namespaces.values():
        assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/enforce"]


def test_recorded_crds_are_applied_server_side_from_the_bundle_before_every_upgrade(run_deploy):
    _, runner, _ = run_deploy("production", answers("production", revisions=UPGRADE))
    i = _applies(runner)[1]
    apply = runner.calls[i]
    assert {"--server-side", "--force-conflicts", "--filename", "-"} <= set(apply)
    assert "--context" in apply and apply[apply.index("--context") + 1] == "do-nyc3-todo-chatbot-production"
    assert "kind: CustomResourceDefinition" in (runner.inputs[i] or "")


def test_recorded_release_upgrade_skips_crds_waits_bounds_history_and_rolls_back_on_failure(run_deploy):
    _, runner, _ = run_deploy("staging", answers("staging", revisions=UPGRADE), timeout="7m", history_max=5)
    (upgrade,) = [c for c in runner.calls if c[:2] == ("helm", "upgrade")]
    assert {"--install", "--skip-crds", "--rollback-on-failure", "--wait=watcher"} <= set(upgrade)
    assert upgrade[upgrade.index("--timeout") + 1] == "7m"
    assert upgrade[upgrade.index("--history-max") + 1] == "5"
    assert upgrade[upgrade.index("--kube-context") + 1] == "do-nyc3-todo-chatbot-staging"
    assert upgrade[upgrade.index("--values") + 1].endswith("values/staging.yaml")


def test_recorded_legacy_wait_is_passed_through(run_deploy):
    _, runner, _ = run_deploy("local", answers("local", revisions=UPGRADE), wait="legacy")
    assert all("--wait=legacy" in c for c in runner.calls if c[:2] == ("helm", "upgrade"))


@pytest.mark.parametrize("failing", [("helm", "test"), ("kubectl", "rollout", "status")])
def test_recorded_failed_health_check_rolls_back_to_the_last_good_revision(run_deploy, failing):
    canned = answers("staging", revisions=[
        history((1, "superseded"), (2, "deployed")),
        history((1, "superseded"), (2, "superseded"), (3, "deployed")),
    ])
    canned[failing] = Result(1, "", "pod todo-chatbot-backend-test failed")
    outcome, runner, report = run_deploy("staging", canned)
    assert outcome is Outcome.ROLLED_BACK and int(outcome) == 4
    rollback = runner.calls[-1]
    assert rollback[:4] == ("helm", "rollback", "todo-chatbot", "2")
    assert "health check failed, rolling back" in "\n".join(report)
    assert report[-1].startswith("rolled back: release todo-chatbot/todo-chatbot runs revision 2 again")


def test_recorded_health_check_stops_at_the_first_failure(run_deploy):
    canned = answers("staging", revisions=UPGRADE)
    canned[("helm", "test")] = Result(1, "", "boom")
    _, runner, _ = run_deploy("staging", canned)
    assert not [h for h in runner.heads() if h.startswith("kubectl rollout status")]


def test_recorded_rollback_skips_failed_revisions(run_deploy):
    canned = answers("production", revisions=[
        history((4, "superseded"), (5, "failed"), (6, "deployed")),
        history((4, "superseded"), (5, "failed"), (6, "superseded"), (7, "deployed")),
    ])
    canned[("helm", "test")] = Result(1, "", "boom")
    _, runner, _ = run_deploy("production", canned)
    assert runner.calls[-1][:4] == ("helm", "rollback", "todo-chatbot", "6")


def test_recorded_failed_health_check_on_first_install_rolls_back_to_the_infrastructure_revision(run_deploy):
    canned = answers("local", revisions=[NO_RELEASE, history((1, "superseded"), (2, "deployed"))])
    canned[("kubectl", "rollout", "status")] = Result(1, "", "deadline exceeded")
    outcome, runner, report = run_deploy("local", canned)
    assert outcome is Outcome.ROLLED_BACK
    assert runner.calls[-1][:4] == ("helm", "rollback", "todo-chatbot", "1")
    assert "rollback: to revision 1" in "\n".join(report)


def test_recorded_failed_rollback_exits_5_and_says_so(run_deploy):
    canned = answers("staging", revisions=[UPGRADE[0], history((2, "superseded"), (3, "deployed"))])
    canned[("helm", "test")] = Result(1, "", "boom")
    canned[("helm", "rollback")] = Result(1, "", "timed out waiting for the condition")
    outcome, _, report = run_deploy("staging", canned)
    assert outcome is Outcome.ROLLBACK_FAILED and int(outcome) == 5
    assert "rollback to revision 2 FAILED" in "\n".join(report)


def test_recorded_no_good_revision_means_no_rollback_command(run_deploy):
    canned = answers("staging", revisions=[UPGRADE[0], history((1, "failed"), (2, "deployed"))])
    canned[("helm", "test")] = Result(1, "", "boom")
    outcome, runner, report = run_deploy("staging", canned)
    assert outcome is Outcome.ROLLBACK_FAILED
    assert not [c for c in runner.calls if c[:2] == ("helm", "rollback")]
    assert "no earlier good revision" in "\n".join(report)


def test_recorded_failed_upgrade_relies_on_helm_rollback_and_runs_no_health_check(run_deploy):
    canned = answers("staging", revisions=UPGRADE)
    canned[("helm", "upgrade")] = Result(1, "", "Error: UPGRADE FAILED: context deadline exceeded")
    outcome, runner, report = run_deploy("staging", canned)
    assert outcome is Outcome.FAILED and int(outcome) == 3
    assert runner.heads()[-1] == "helm upgrade todo-chatbot"
    assert "--rollback-on-failure" in report[-1]


def test_recorded_failed_crd_apply_stops_before_the_release(run_deploy):
    canned = answers("staging", revisions=UPGRADE)
    canned[("kubectl", "apply")] = [Result(0, "namespaces applied", ""), Result(1, "", "conflict")]
    outcome, runner, report = run_deploy("staging", canned)
    assert outcome is Outcome.FAILED
    assert not [c for c in runner.calls if c[0] == "helm" and c[1] != "history"]
    assert "stopped in phase crds" in report[-1]


# --- refusals: each stops before anything changes, naming what is wrong -------------------------------


def test_recorded_wrong_context_is_refused_naming_both_contexts_and_reads_nothing_else(run_deploy):
    production = envs.get("production").kube_context
    outcome, runner, report = run_deploy("staging", answers("staging", context=production))
    assert outcome is Outcome.REFUSED and int(outcome) == 2
    assert runner.calls == [("kubectl", "config", "current-context")]
    text = "\n".join(report)
    assert repr(production) in text and "'do-nyc3-todo-chatbot-staging'" in text
    assert "the context of environment 'production'" in text


def test_recorded_missing_current_context_is_refused(run_deploy):
    outcome, runner, report = run_deploy("local", answers("local", context=""))
    assert outcome is Outcome.REFUSED and not runner.mutations()
    assert "no current context" in "\n".join(report) and "'kind-todo-chatbot'" in "\n".join(report)


def test_recorded_missing_secret_is_refused_naming_it_and_its_user(run_deploy):
    canned = cluster(envs.get("staging"), secrets=["todo-chatbot-registry"])
    outcome, runner, report = run_deploy("staging", canned)
    assert outcome is Outcome.REFUSED and not runner.mutations()
    (problem,) = [line for line in report if "missing Secret" in line]
    assert "todo-chatbot/todo-chatbot-db" in problem and "Deployment/todo-chatbot/todo-chatbot-backend" in problem


def test_recorded_production_refuses_images_by_tag_naming_the_image(run_deploy):
    tagged = "registry.digitalocean.com/todo-chatbot/backend:1.4.2"
    outcome, runner, report = run_deploy("production", answers("production"), small_release(tagged))
    assert outcome is Outcome.REFUSED and not runner.mutations()
    text = "\n".join(report)
    assert tagged in text and "Deployment/todo-chatbot/todo-chatbot-backend" in text
    assert "daprio/injector" not in text, "the upstream images of this release are pinned"


def test_recorded_production_is_refused_until_its_upstream_images_are_pinned(run_deploy):
    outcome, runner, report = run_deploy("production", answers("production"), small_release(upstream_pin=""))
    assert outcome is Outcome.REFUSED and not runner.mutations()
    refused = [line for line in report if "upstream image" in line]
    assert len(refused) == 3, report
    injector = next(line for line in refused if "'daprio/injector:1.18.3'" in line)
    assert "run by Deployment/todo-chatbot/dapr-sidecar-injector" in injector
    assert "`make pin-images ENV=production` and commit production.yaml" in injector


def test_recorded_production_refuses_a_placeholder_digest(run_deploy):
    placeholder = "registry.digitalocean.com/todo-chatbot/backend@sha256:" + "0" * 63 + "2"
    outcome, runner, report = run_deploy("production", answers("production"), small_release(placeholder))
    assert outcome is Outcome.REFUSED and not runner.mutations()
    (problem,) = [line for line in report if "placeholder" in line]
    assert placeholder in problem and "Deployment/todo-chatbot/todo-chatbot-backend" in problem


@pytest.mark.parametrize("env", ["local", "staging"])
def test_recorded_upstream_images_by_tag_are_fine_outside_production(run_deploy, env):
    outcome, _, _ = run_deploy(env, answers(env), small_release("backend:1.4.2", upstream_pin=""))
    assert outcome is Outcome.OK


@pytest.mark.parametrize("env", ["local", "staging"])
def test_recorded_images_by_tag_are_fine_outside_production(run_deploy, env):
    outcome, _, _ = run_deploy(env, answers(env), small_release("backend:1.4.2"))
    assert outcome is Outcome.OK


def test_recorded_production_accepts_images_by_digest(run_deploy):
    outcome, _, _ = run_deploy("production", answers("production"), small_release("backend" + DIGEST))
    assert outcome is Outcome.OK


def test_recorded_pending_release_is_refused(run_deploy):
    canned = answers("staging", revisions=history((2, "deployed"), (3, "pending-upgrade")))
    outcome, runner, report = run_deploy("staging", canned)
    assert outcome is Outcome.REFUSED and not runner.mutations()
    assert "revision 3 is pending-upgrade" in "\n".join(report)


# --- dry run --------------------------------------------------------------------------------------------


def test_recorded_dry_run_changes_nothing_and_prints_plan_and_diff(run_deploy):
    deployed = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: todo-chatbot-backend, namespace: todo-chatbot, labels: {helm.sh/chart: app-0.0.9}}
spec: {}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: gone, namespace: todo-chatbot}
"""
    canned = answers("staging", revisions=UPGRADE)
    canned[("helm", "get", "manifest")] = Result(0, deployed)
    outcome, runner, report = run_deploy("staging", canned, dry_run=True)
    assert outcome is Outcome.OK and not runner.mutations()
    text = "\n".join(report)
    assert "dry run: nothing is changed" in text and "[release] upgrade the full release" in text
    assert "~ Deployment/todo-chatbot/todo-chatbot-backend" in report
    assert "- ConfigMap/todo-chatbot/gone" in report
    assert "+ StatefulSet/todo-chatbot/todo-chatbot-loki" in report
    assert "+ Deployment/todo-chatbot/hooked" not in report  # hooks are not part of the manifest
    assert any("app-0.1.0" in line and line.strip().startswith("+") for line in report)


def test_recorded_dry_run_of_a_first_install_shows_everything_as_new(run_deploy):
    outcome, runner, report = run_deploy("local", answers("local"), dry_run=True)
    assert outcome is Outcome.OK and not runner.mutations()
    assert not [c for c in runner.calls if c[:3] == ("helm", "get", "manifest")]
    assert "deploy local: first install (phased) of release todo-chatbot/todo-chatbot" in report
    assert "+ Deployment/todo-chatbot/todo-chatbot-backend" in report


def test_recorded_dry_run_still_refuses_bad_input(run_deploy):
    outcome, runner, _ = run_deploy("staging", answers("staging", context="kind-todo-chatbot"), dry_run=True)
    assert outcome is Outcome.REFUSED and runner.calls == [("kubectl", "config", "current-context")]


def test_recorded_deploy_of_an_older_chart_version_is_refused(run_deploy):
    newer = Result(0, '[{"revision": 7, "status": "deployed", "chart": "todo-chatbot-cloud-99.0.0"}]')
    outcome, runner, report = run_deploy("production", answers("production", revisions=newer))
    assert outcome is Outcome.REFUSED and not runner.mutations()
    assert "runs todo-chatbot-cloud-99.0.0, newer than" in "\n".join(report)


def test_recorded_deploy_of_the_same_chart_version_goes_on(run_deploy):
    same = history((1, "deployed"))  # chart todo-chatbot-cloud-0.1.0
    outcome, _, _ = run_deploy("production", answers("production", revisions=same))
    assert outcome is Outcome.OK


def test_recorded_api_the_cluster_does_not_serve_is_refused_naming_it_and_its_users(run_deploy):
    gateway = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
               "metadata": {"name": "todo-chatbot-public", "labels": {"helm.sh/chart": "app-0.1.0"}}}
    outcome, runner, report = run_deploy("local", answers("local"), [*small_release(), gateway])
    assert outcome is Outcome.REFUSED and not runner.mutations()
    (problem,) = [line for line in report if "API " in line]
    assert "API gateway.networking.k8s.io/v1: the cluster does not serve it" in problem
    assert "Gateway/todo-chatbot-public" in problem


def test_recorded_apis_of_the_pinned_crds_need_not_be_served_yet(run_deploy):
    kafka = {"apiVersion": "kafka.strimzi.io/v1", "kind": "Kafka",
             "metadata": {"name": "todo-chatbot-kafka", "labels": {"helm.sh/chart": "platform-0.1.0"}}}
    outcome, _, _ = run_deploy("local", answers("local"), [*small_release(), kafka], crd_apis={"kafka.strimzi.io/v1"})
    assert outcome is Outcome.OK


def test_recorded_failed_first_install_phase_is_uninstalled_by_helm_and_stops(run_deploy):
    canned = answers("local")
    canned[("helm", "upgrade")] = Result(1, "", "Error: release todo-chatbot failed, and has been uninstalled")
    outcome, runner, report = run_deploy("local", canned)
    assert outcome is Outcome.FAILED
    assert runner.heads()[-1] == "helm upgrade todo-chatbot" and runner.heads().count("helm upgrade todo-chatbot") == 1
    assert "the first-install phase failed; Helm uninstalled it" in report[-1]


def test_recorded_dry_run_never_prints_secret_values(run_deploy):
    def secret(value: str) -> dict:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "grafana", "namespace": "todo-chatbot"},
                "data": {"admin-password": value}}

    deployed = yaml.safe_dump(secret("b2xkLXNlY3JldA=="))
    canned = answers("staging", revisions=UPGRADE)
    canned[("helm", "get", "manifest")] = Result(0, deployed)
    _, _, report = run_deploy("staging", canned, [*small_release(), secret("bmV3LXNlY3JldA==")], dry_run=True)
    text = "\n".join(report)
    assert "~ Secret/todo-chatbot/grafana" in report
    assert "b2xkLXNlY3JldA==" not in text and "bmV3LXNlY3JldA==" not in text
    assert "admin-password: sha256:" in text


def test_recorded_unreadable_history_during_rollback_exits_5_and_says_nothing_was_rolled_back(run_deploy):
    canned = answers("staging", revisions=[UPGRADE[0], Result(1, "", "Error: Kubernetes cluster unreachable")])
    canned[("helm", "test")] = Result(1, "", "boom")
    outcome, runner, report = run_deploy("staging", canned)
    assert outcome is Outcome.ROLLBACK_FAILED
    assert not [c for c in runner.calls if c[:2] == ("helm", "rollback")]
    assert "cannot read the release history, nothing was rolled back" in report[-1]


def _with_claims(size: str) -> dict:
    """A Loki StatefulSet with one claim template of `size`, rendered or as the cluster returns it."""
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "todo-chatbot-loki", "namespace": "todo-chatbot",
                         "labels": {"helm.sh/chart": "loki-18.11.0"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                         {"name": "loki", "image": "grafana/loki:3" + UPSTREAM_PINNED}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "storage"}, "spec": {
                         "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                         "resources": {"requests": {"storage": size}}}}]}}


def _running(*sets: dict) -> Result:
    return Result(0, json.dumps({"kind": "StatefulSetList", "items": list(sets)}))


def test_recorded_upgrade_recreates_a_statefulset_whose_claim_templates_changed_keeping_its_pods(run_deploy):
    """A profile switch (Loki's volume 20Gi -> 5Gi): Kubernetes refuses to change claim templates, so the
    deploy deletes the StatefulSet alone (--cascade=orphan) right before the release creates it again."""
    release = [obj for obj in small_release() if obj["metadata"]["name"] != "todo-chatbot-loki"] + [_with_claims("5Gi")]
    canned = answers("production", revisions=UPGRADE)
    canned[("kubectl", "get", "statefulsets")] = _running(_with_claims("20Gi"))
    outcome, runner, report = run_deploy("production", canned, release)
    assert outcome is Outcome.OK
    deletes = [c for c in runner.calls if c[:2] == ("kubectl", "delete")]
    assert deletes == [("kubectl", "delete", "statefulset", "todo-chatbot-loki", "--context",
                        "do-nyc3-todo-chatbot-production", "--namespace", "todo-chatbot", "--cascade=orphan",
                        "--wait=true")]
    heads = runner.heads()
    assert heads.index("kubectl delete statefulset todo-chatbot-loki") < heads.index("helm upgrade todo-chatbot")
    assert any("claim templates storage 20Gi -> storage 5Gi" in line for line in report)


@pytest.mark.parametrize(("live", "why"), [
    (_running(_with_claims("5Gi")), "same claim templates"),
    (_running(), "not running yet"),
])
def test_recorded_upgrade_leaves_statefulsets_alone_otherwise(run_deploy, live, why):
    release = [obj for obj in small_release() if obj["metadata"]["name"] != "todo-chatbot-loki"] + [_with_claims("5Gi")]
    canned = answers("production", revisions=UPGRADE)
    canned[("kubectl", "get", "statefulsets")] = live
    outcome, runner, _ = run_deploy("production", canned, release)
    assert outcome is Outcome.OK and not [c for c in runner.calls if c[:2] == ("kubectl", "delete")], why


def test_recorded_first_install_reads_no_statefulsets(run_deploy):
    _, runner, _ = run_deploy("production", answers("production"))
    assert "kubectl get statefulsets" not in runner.heads()
