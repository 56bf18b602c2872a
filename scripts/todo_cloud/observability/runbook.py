"""docs/RUNBOOK.md: the anchors of its sections, as GitHub renders them."""

from __future__ import annotations

import re
from pathlib import Path

from todo_cloud.paths import DOCS

RUNBOOK = DOCS / "RUNBOOK.md"


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower-cased, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path = RUNBOOK) -> set[str]:
    """Anchors of every heading of `path` (empty when it does not exist)."""
    if not path.is_file():
        return set()
    found: set[str] = set()
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (m := re.match(r"#{1,6} (.+)", line)):
            found.add(anchor(m.group(1)))
    return found
