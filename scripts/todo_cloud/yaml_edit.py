"""Edits of the repository's hand-written YAML that keep its comments, quotes and layout (ruamel round trip):
`todo-cloud images pin` writes values/ENV.yaml with it, `todo-cloud nodes --write` config/prices.yaml."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any


def edit(text: str, change: Callable[[Any], None]) -> str:
    """`text` with `change` applied to its parsed tree (a ruamel CommentedMap), dumped in the repo's layout."""
    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    tree = rt.load(text)
    change(tree)
    out = io.StringIO()
    rt.dump(tree, out)
    return out.getvalue()
