"""The values table of each chart's README.md, from its schema fragments and its values.yaml.

Every chart with a `schema/` folder gets, in charts/<chart>/README.md, a section between two marker lines
listing every value: key (dotted; `<name>` stands for a map key), type, default (from values.yaml) and
description (from the schema). Only that section is generated; the rest of the README is written by hand.
A chart without a README gets one with its Chart.yaml description and the section.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from todo_cloud import yamlfile
from todo_cloud.generate import header
from todo_cloud.generate.chart_schemas import compose, library_dependencies, schema_charts
from todo_cloud.render import lookup

# What `lookup` returns for a path the values do not have (None is a value there: `key: null`).
ABSENT = object()

BEGIN = header("chart_readmes", comment="<!--") + " -->"
END = "<!-- end of the generated values table -->"
MAP_KEY = "<name>"
MAX_DEFAULT = 60


@dataclass(frozen=True)
class Row:
    """One line of the values table."""

    key: str
    type: str
    default: str
    description: str


def _resolve(node: dict, root: dict) -> dict:
    """`node` with a local `$ref` followed (its own description kept over the target's)."""
    ref = node.get("$ref")
    if not ref:
        return node
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref are supported, got {ref}")
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return {**_resolve(target, root), **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict, root: dict) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    kind = node.get("type", "any")
    if kind == "array" and isinstance(node.get("items"), dict):
        return f"list of {_type(_resolve(node['items'], root), root)}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict) and not node.get("properties"):
        return f"map of {_type(_resolve(node['additionalProperties'], root), root)}"
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _default(values: Any, path: list[str], node: dict) -> str:
    current = ABSENT if MAP_KEY in path else lookup(values, path, ABSENT)
    if current is ABSENT:
        return f"`{json.dumps(node['default'])}`" if "default" in node else ""
    text = json.dumps(current, separators=(", ", ": "))
    return f"`{text}`" if len(text) <= MAX_DEFAULT else "see values.yaml"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _walk(node: dict, root: dict, values: Any, path: list[str], seen: dict[str, str]) -> Iterator[Row]:
    """Rows of `node` at `path`: leaves get a row; objects recurse into properties and map values."""
    node = _resolve(node, root)
    properties: dict[str, dict] = node.get("properties", {})
    extra = node.get("additionalProperties")
    is_map = isinstance(extra, dict) and _resolve(extra, root).get("type") == "object"
    if path and not properties and not is_map:
        yield Row(".".join(path), _type(node, root), _default(values, path, node),
                  _cell(node.get("description", "")))
        return
    repeated: list[str] = []
    origin = ""
    # keys that reuse another key's schema ($ref) first: they carry the defaults the others refer to
    for key, sub in sorted(properties.items(), key=lambda item: "$ref" not in item[1]):
        signature = key + json.dumps(_resolve(sub, root), sort_keys=True)
        if signature in seen and lookup(values, [*path, key], ABSENT) is ABSENT:
            repeated.append(key)
            origin = seen[signature].rsplit(".", 1)[0]
            continue
        seen.setdefault(signature, ".".join([*path, key]))
        yield from _walk(sub, root, values, [*path, key], seen)
    if repeated:
        keys = ", ".join(f"`{k}`" for k in repeated)
        yield Row(".".join([*path, "*"]), "", "", _cell(f"The keys of `{origin}`: {keys}."))
    if is_map:
        assert isinstance(extra, dict)
        if path:
            yield Row(".".join(path), "map of object", _default(values, path, node),
                      _cell(node.get("description", "")))
        yield from _walk(extra, root, values, [*path, MAP_KEY], seen)


def rows(chart: Path) -> list[Row]:
    """Every value of `chart`, in schema order (fragments sorted by key, `global` first); the keys Helm adds
    for library charts are no values to set, so they get no row."""
    schema = compose(chart)
    for name in library_dependencies(chart):
        del schema["properties"][name]
    values_file = chart / "values.yaml"
    values = yamlfile.load(values_file) if values_file.is_file() else {}
    return list(_walk(schema, schema, values or {}, [], {}))


def table(chart: Path) -> str:
    lines = [BEGIN, "", "| Key | Type | Default | Description |", "|---|---|---|---|"]
    lines += [f"| `{r.key}` | {r.type} | {r.default} | {r.description} |" for r in rows(chart)]
    return "\n".join([*lines, "", END])


def readme(chart: Path) -> str:
    """The README with its generated section replaced (or a new README around the section)."""
    path = chart / "README.md"
    if path.is_file():
        text = path.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            return f"{head}{table(chart)}{tail}"
        return f"{text.rstrip()}\n\n## Values\n\n{table(chart)}\n"
    meta = yamlfile.load(chart / "Chart.yaml")
    description = " ".join(str(meta.get("description", "")).split())
    return f"# {meta['name']} chart\n\n{description}\n\n## Values\n\n{table(chart)}\n"


def generate() -> dict[Path, str]:
    return {chart / "README.md": readme(chart) for chart in schema_charts()}
