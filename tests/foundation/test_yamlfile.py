"""todo_cloud.yamlfile: YAML files parsed once per content, each caller with a copy of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from todo_cloud import yamlfile


def test_each_caller_gets_a_copy_it_may_change(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("kafka:\n  replicas: 3\n  topics: [todo-events]\n")
    first = yamlfile.load(values)
    first["kafka"]["replicas"] = 1
    first["kafka"]["topics"].append("dlq")
    assert yamlfile.load(values) == {"kafka": {"replicas": 3, "topics": ["todo-events"]}}


def test_a_file_written_again_is_read_again_even_at_the_same_size_and_time(tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("replicas: 1\n")
    assert yamlfile.load(values) == {"replicas": 1}
    values.write_text("replicas: 2\n")
    assert yamlfile.load(values) == {"replicas": 2}


def test_every_document_is_read_with_the_loader_asked_for() -> None:
    class Upper(yamlfile.LOADER):  # type: ignore[misc,valid-type]
        pass

    Upper.add_constructor("!up", lambda loader, node: loader.construct_scalar(node).upper())
    text = "a: !up x\n---\nb: 2\n"
    assert yamlfile.loads_all(text, Upper) == [{"a": "X"}, {"b": 2}]
    with pytest.raises(yaml.constructor.ConstructorError, match="!up"):
        yamlfile.loads_all(text)
