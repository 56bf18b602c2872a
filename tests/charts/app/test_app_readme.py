"""The chart README's values table (scripts/todo_cloud/generate/chart_readmes.py): complete, and the only
part of the README that is generated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from todo_cloud import yamlfile
from todo_cloud.generate import chart_readmes
from todo_cloud.paths import CHARTS

APP = CHARTS / "app"


def leaf_paths(values: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(values, dict) and values:
        return [p for key, sub in values.items() for p in leaf_paths(sub, (*path, key))]
    return [path]


def documented(key: tuple[str, ...], table_keys: set[str]) -> bool:
    """A values key is documented by its own row, a map row (`<name>`) or a `*` row of its parent."""
    for depth in range(len(key), 0, -1):
        prefix = ".".join(key[:depth])
        if prefix in table_keys or f"{prefix}.*" in table_keys:
            return True
    generic = tuple("<name>" if key[:1] == ("components",) and i == 1 else part for i, part in enumerate(key))
    generic = tuple("<name>" if i > 0 and generic[i - 1] == "secrets" else p for i, p in enumerate(generic))
    return documented(generic, table_keys) if generic != key else False


def test_every_value_of_values_yaml_has_a_row() -> None:
    keys = {row.key for row in chart_readmes.rows(APP)}
    values = yamlfile.load(APP / "values.yaml")
    missing = [".".join(k) for k in leaf_paths(values) if not documented(k, keys)]
    assert not missing


def test_rows_carry_type_default_and_description() -> None:
    rows = {row.key: row for row in chart_readmes.rows(APP)}
    replicas = rows["defaults.replicas"]
    assert (replicas.type, replicas.default) == ("integer", "`1`")
    assert replicas.description.startswith("Pod replicas")
    assert rows["exposure.mode"].type == '`"gateway"` \\| `"ingress"` \\| `"none"`'
    assert "components.<name>.image.digest" in rows


def write_chart(root: Path, readme: str | None) -> Path:
    chart = root / "demo"
    (chart / "schema").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 0.1.0\ndescription: A demo chart.\n")
    (chart / "values.yaml").write_text("size: 3\n")
    (chart / "schema" / "size.yaml").write_text("type: integer\ndescription: How many.\n")
    if readme is not None:
        (chart / "README.md").write_text(readme)
    return chart


def test_only_the_marked_section_is_rewritten(tmp_path: Path) -> None:
    stale = f"# demo\n\nHand-written.\n\n{chart_readmes.BEGIN}\n| old |\n{chart_readmes.END}\n\nAfter.\n"
    text = chart_readmes.readme(write_chart(tmp_path, stale))
    assert text.startswith("# demo\n\nHand-written.\n\n" + chart_readmes.BEGIN)
    assert text.endswith(chart_readmes.END + "\n\nAfter.\n")
    assert "| `size` | integer | `3` | How many. |" in text and "| old |" not in text


def test_a_chart_without_readme_gets_one(tmp_path: Path) -> None:
    text = chart_readmes.readme(write_chart(tmp_path, None))
    assert text.startswith("# demo chart\n\nA demo chart.\n\n## Values\n\n" + chart_readmes.BEGIN)


def test_every_chart_with_schema_fragments_gets_its_readme() -> None:
    charts = {path.parent.name for path in chart_readmes.generate()}
    assert {"app", "platform"} <= charts
    assert charts == {p.name for p in CHARTS.iterdir() if (p / "schema").is_dir()} - {"todo-chatbot-lib"}
