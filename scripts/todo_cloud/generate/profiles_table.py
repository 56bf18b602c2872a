"""The profiles table of docs/COST.md, from config/profiles.yaml.

Between two marker lines of docs/COST.md: each profile (title, control plane, budget, what it is) and, for
each that gives something up, what and what runs instead. Only that section is generated; the rest of the
page is written by hand. The figures (cost, requests, headroom) are not data but computed from the render:
`todo-cloud report --env production` prints them.
"""

from __future__ import annotations

from pathlib import Path

from todo_cloud import profiles
from todo_cloud.generate import header
from todo_cloud.paths import DOCS

COST_DOC = DOCS / "COST.md"
BEGIN = header("profiles_table", comment="<!--") + " -->"
END = "<!-- end of the generated profiles table -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table() -> str:
    """The generated section, markers included."""
    lines = [BEGIN, "", "| profile | control plane | monthly budget | what it is |", "|---|---|---|---|"]
    for p in profiles.all_profiles().values():
        budget = "-" if p.budget_monthly is None else f"${p.budget_monthly:g}"
        plane = "HA" if p.ha_control_plane else "single"
        lines.append(f"| `{p.name}` ({_cell(p.title)}) | {plane} | {budget} | {_cell(p.description)} |")
    for p in profiles.all_profiles().values():
        if not p.gives_up:
            continue
        lines += ["", f"What `{p.name}` gives up:", "", "| gives up | instead |", "|---|---|"]
        lines += [f"| {_cell(g.what)} | {_cell(g.instead)} |" for g in p.gives_up]
    return "\n".join([*lines, "", END])


def generate() -> dict[Path, str]:
    text = COST_DOC.read_text() if COST_DOC.is_file() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return {COST_DOC: head + table() + tail}
    return {COST_DOC: (text.rstrip() + "\n\n" if text else "# Cost\n\n") + table() + "\n"}
