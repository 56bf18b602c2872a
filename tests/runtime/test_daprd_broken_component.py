"""daprd refuses to start on a broken component, and says why in the fatal line of its log (what a user sees
in `kubectl logs <pod> -c daprd`). Each case breaks one key of the rendered pub/sub component; the sidecar
is the one of the app the component is scoped to. No Kafka is needed: daprd refuses before connecting."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runtime.support.dapr import run_secrets, servered_components
from todo_cloud.processes import StartFailed, Supervisor
from todo_cloud.render import Manifest
from todo_cloud.runtime import daprd_plan
from todo_cloud.runtime.daprd import Daprds, fatal_message

pytestmark = pytest.mark.xdist_group("runtime-dapr")


def pubsub_of(rendered: list[Manifest]) -> Manifest:
    (pubsub,) = [c for c in daprd_plan.dapr_objects(rendered, "Component") if c["spec"]["type"].startswith("pubsub.")]
    return pubsub


def rename_entry(old: str, new: str) -> Callable[[Manifest], None]:
    def change(component: Manifest) -> None:
        (entry,) = [e for e in component["spec"]["metadata"] if e["name"] == old]
        entry["name"] = new
    return change


def set_spec(key: str, value: str) -> Callable[[Manifest], None]:
    def change(component: Manifest) -> None:
        component["spec"][key] = value
    return change


# case -> (the change, the end of daprd's fatal message, {type} and {version} filled from the broken component)
CASES = {
    "a misspelled required metadata key": (rename_entry("brokers", "broker"),
                                           "({type}/{version}): kafka error: missing 'brokers' attribute"),
    "an unknown component version": (set_spec("version", "v9"),
                                     "({type}/{version}): couldn't find message bus {type}/{version}"),
    "an unknown component type": (set_spec("type", "pubsub.kafka-v2"),
                                  "({type}/{version}): couldn't find message bus {type}/{version}"),
}


@pytest.mark.parametrize("case", CASES)
def test_daprd_refuses_to_start_and_its_fatal_log_line_names_the_component_and_the_fault(
        case: str, runtime_release: list[Manifest], daprd_binary: Path, tmp_path: Path) -> None:
    change, expected = CASES[case]
    broken = copy.deepcopy(pubsub_of(runtime_release))
    change(broken)
    name, scopes = broken["metadata"]["name"], broken["scopes"]
    others = [c for c in servered_components(runtime_release) if c != name]
    with Supervisor(tmp_path, grace=3) as sup:
        sidecars = Daprds(sup, runtime_release, secrets=run_secrets(runtime_release), tracing_endpoint=None,
                          path=daprd_binary)
        with pytest.raises(StartFailed, match=r"daprd-\S+ exited with code 1"):
            sidecars.start(scopes[0], leave_out=others, replace={name: broken}, timeout=30)
        message = fatal_message(sup.log(f"daprd-{scopes[0]}"))
    assert message is not None, f"no fatal line in {sup.log(f'daprd-{scopes[0]}')}"
    assert message.startswith(f"Fatal error from runtime: process component {name} error: "), message
    assert message.endswith(expected.format(type=broken["spec"]["type"], version=broken["spec"]["version"])), message
