"""The static companion of the broken-component test: daprd ignores an unknown optional metadata key without
a word, so every rendered Component's keys are checked against what the pinned daprd's components-contrib
declares (todo_cloud.runtime.dapr_metadata)."""

from __future__ import annotations

import copy

import pytest

from todo_cloud import envs
from todo_cloud.render import Manifest, render_environment
from todo_cloud.runtime import daprd_plan
from todo_cloud.runtime.dapr_metadata import unknown_keys

pytestmark = pytest.mark.xdist_group("runtime-dapr")


@pytest.mark.parametrize("env", envs.names())
def test_every_metadata_key_of_the_rendered_components_is_read_by_daprd(upstream_charts: object, env: str) -> None:
    assert [str(u) for u in unknown_keys(render_environment(env))] == []


def test_a_misspelled_optional_key_is_named_with_its_component(runtime_release: list[Manifest]) -> None:
    pubsub = next(c for c in daprd_plan.dapr_objects(runtime_release, "Component")
                  if c["spec"]["type"].startswith("pubsub."))
    broken = copy.deepcopy(pubsub)
    entry = next(e for e in broken["spec"]["metadata"] if e["name"] == "initialOffset")
    entry["name"] = "initialOfset"
    (found,) = unknown_keys([broken])
    spec = pubsub["spec"]
    assert str(found) == (f"Component/{pubsub['metadata']['name']} ({spec['type']}/{spec['version']}): metadata "
                          "'initialOfset' is not a key of the component nor of the Dapr runtime; "
                          "daprd ignores it")
