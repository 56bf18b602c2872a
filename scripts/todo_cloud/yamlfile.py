"""YAML files that many callers read in one process (values files, Chart.yaml, the facts of config/): parsed
with libyaml (PyYAML's C loader, 10x its pure-Python one) once per content, each caller getting a copy of its
own to change. Standard library and PyYAML only (envs and deps import it)."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

# PyYAML's libyaml loader where it is built (it is, from the wheels the lock pins), else the pure-Python one.
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# (how it was read, text) -> the parsed content, pickled: a copy is a pickle.loads, 30x cheaper than parsing.
_parsed: dict[tuple[str, str], bytes] = {}


def _once(key: tuple[str, str], parse: Callable[[], Any]) -> Any:
    """A copy of what `parse` made of `key`'s text, parsing only the first time."""
    known = _parsed.get(key)
    if known is None:
        known = pickle.dumps(parse(), protocol=pickle.HIGHEST_PROTOCOL)
        _parsed[key] = known
    return pickle.loads(known)


def loads(text: str) -> Any:
    """The one YAML document of `text`, parsed once per distinct text."""
    return _once(("one", text), lambda: yaml.load(text, Loader=LOADER))


def loads_all(text: str, loader: type[yaml.SafeLoader] = LOADER) -> list[Any]:
    """Every YAML document of `text` as `loader` reads them, parsed once per distinct text and loader."""
    return _once((f"all {loader.__module__}.{loader.__qualname__}", text),
                 lambda: list(yaml.load_all(text, Loader=loader)))


def load(path: Path) -> Any:
    """The YAML document of the file at `path` (read every time, parsed once per content)."""
    return loads(Path(path).read_text())
