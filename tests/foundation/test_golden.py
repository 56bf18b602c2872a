"""Golden renders (golden/<env>.yaml): every object of the release is there, ours whole and upstream by line.

That the committed files equal their generator is the drift test's job (test_generated.py); these tests pin
what the golden render holds, so that a change of values shows in it.
"""

from __future__ import annotations

import json

import pytest
import yaml

from todo_cloud.generate import golden
from todo_cloud.manifests import object_id
from todo_cloud.render import render_environment

pytestmark = pytest.mark.usefixtures("upstream_charts")


def test_our_objects_are_in_the_golden_render_whole_and_upstream_ones_by_their_line(env_name: str) -> None:
    text = (golden.GOLDEN / f"{env_name}.yaml").read_text()
    whole = [d for d in yaml.safe_load_all(text) if d]
    ours = golden.our_chart_labels()
    release = render_environment(env_name)
    assert sorted(map(object_id, whole)) == sorted(object_id(d) for d in release if golden.chart_label(d) in ours)
    assert all(d in release for d in whole)
    for doc in release:
        if golden.chart_label(doc) not in ours:
            assert f"#   {object_id(doc)}  " in text and golden.digest(doc) in text, object_id(doc)


def test_a_changed_value_changes_the_golden_render() -> None:
    docs = render_environment("local", {"platform": {"kafka": {"topics": {"todo-events": {"partitions": 12}}}}})
    topic = next(d for d in docs if d["kind"] == "KafkaTopic" and d["metadata"]["name"] == "todo-events")
    assert topic["spec"]["partitions"] == 12
    assert yaml.safe_dump(topic, sort_keys=False, width=120) not in (golden.GOLDEN / "local.yaml").read_text()


def test_no_custom_resource_definition_is_committed() -> None:
    for path in golden.GOLDEN.glob("*.yaml"):
        assert "kind: CustomResourceDefinition" not in path.read_text(), path


def test_the_digest_ignores_what_a_render_generates_anew_and_nothing_else() -> None:
    secret = {"kind": "Secret", "metadata": {"name": "grafana"}, "data": {"admin-password": "cmFuZG9tMQ=="}}
    again = {**secret, "data": {"admin-password": "cmFuZG9tMg=="}}
    more = {**secret, "data": {"admin-password": "cmFuZG9tMQ==", "admin-user": "YWRtaW4="}}
    assert golden.digest(secret) == golden.digest(again)
    assert golden.digest(secret) != golden.digest(more), "which keys a Secret holds is content"
    pod = {"kind": "Deployment", "spec": {"template": {"metadata": {"annotations": {"checksum/secret": "a", "x": "1"}},
                                                       "spec": {"containers": [{"image": "grafana:12"}]}}}}
    rehashed = json.loads(json.dumps(pod).replace('"checksum/secret": "a"', '"checksum/secret": "b"'))
    other_image = json.loads(json.dumps(pod).replace("grafana:12", "grafana:13"))
    assert golden.digest(pod) == golden.digest(rehashed)
    assert golden.digest(pod) != golden.digest(other_image)
