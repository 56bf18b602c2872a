"""The app chart inside the umbrella release: installed under `app`, gated by global.workloads.enabled."""

from __future__ import annotations

from todo_cloud import deps
from todo_cloud.render import Manifest, find, get, render_environment


def test_app_workloads_are_part_of_every_release(release: list[Manifest]) -> None:
    names = {d["metadata"]["name"] for d in find(release, "Deployment")}
    assert {"todo-chatbot-frontend", "todo-chatbot-backend"} <= names


def test_first_install_phase_renders_no_app_workload_but_keeps_the_platform(upstream_charts: deps.DepsStatus) -> None:
    del upstream_charts
    docs = render_environment("local", {"global": {"workloads": {"enabled": False}}})
    names = {d["metadata"]["name"] for d in find(docs, "Deployment")}
    assert "dapr-sidecar-injector" in names
    assert not names & {"todo-chatbot-frontend", "todo-chatbot-backend"}
    assert not [j for j in find(docs, "Job") if j["metadata"]["name"].startswith("todo-chatbot-test-")]


INJECTOR_ENV_FOR_RESTRICTED = {
    "SIDECAR_DROP_ALL_CAPABILITIES": "true",
    "SIDECAR_RUN_AS_NON_ROOT": "true",
    "SIDECAR_READ_ONLY_ROOT_FILESYSTEM": "true",
}


def test_injected_sidecars_meet_the_restricted_profile(release: list[Manifest]) -> None:
    """The umbrella sets dapr_sidecar_injector.sidecarDropALLCapabilities (the Dapr chart keeps capabilities):
    the injector then adds a restricted-profile securityContext to every daprd it injects."""
    injector = get(release, "Deployment", "dapr-sidecar-injector")
    env = {e["name"]: e.get("value") for e in injector["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert {k: env.get(k) for k in INJECTOR_ENV_FOR_RESTRICTED} == INJECTOR_ENV_FOR_RESTRICTED
