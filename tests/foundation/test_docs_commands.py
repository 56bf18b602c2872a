"""Every `make TARGET` and `todo-cloud COMMAND [ACTION]` that the docs, the chart READMEs and the workflows
name exists: a target of the Makefile, a command (and action) of the CLI."""

from __future__ import annotations

import argparse
import re
from functools import cache
from pathlib import Path

import pytest

from todo_cloud.cli import parser
from todo_cloud.paths import REPO

DOCUMENTS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "charts").glob("*/README.md"),
                    *(REPO / ".github" / "workflows").glob("*.y*ml")])
MAKE = re.compile(r"\bmake[ \t]+(?:-\S+[ \t]+)*([a-z][a-z0-9-]*)")
CLI = re.compile(r"\btodo-cloud[ \t]+([a-z][a-z0-9-]*)(?:[ \t]+([a-z][a-z0-9-]*))?")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")


def code(path: Path) -> str:
    """The parts of a document that are commands: code spans and fenced blocks (a workflow: all but comments)."""
    text = path.read_text()
    if path.suffix != ".md":
        return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    blocks = FENCE.findall(text)
    return "\n".join([*blocks, *INLINE.findall(FENCE.sub("", text))])


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (REPO / "Makefile").read_text(), re.MULTILINE))


@cache
def cli_commands() -> dict[str, set[str]]:
    """Each command of `todo-cloud`, with the actions of those that take one (`images pin`, `sim up`)."""
    commands: dict[str, set[str]] = {}
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    for verb, command in sub.choices.items():
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        commands[verb] = set(nested[0].choices) if nested else set()
    return commands


def named(pattern: re.Pattern[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [(str(path.relative_to(REPO)), m.groups()) for path in DOCUMENTS for m in pattern.finditer(code(path))]


def test_the_documents_are_read() -> None:
    assert {"README.md", "docs/DEPLOYMENT.md", "docs/CLUSTER-TESTS.md"} <= {
        str(p.relative_to(REPO)) for p in DOCUMENTS}
    assert ("README.md", ("up",)) in named(MAKE) and ("docs/DEPLOYMENT.md", ("deploy", None)) in [
        (where, groups) for where, groups in named(CLI) if groups[0] == "deploy" and groups[1] is None]


def test_every_make_target_the_docs_name_exists() -> None:
    unknown = sorted({f"{where}: make {target}" for where, (target,) in named(MAKE) if target not in make_targets()})
    assert unknown == [], f"no such Makefile target: {unknown}"


def test_every_todo_cloud_command_the_docs_name_exists() -> None:
    commands = cli_commands()
    unknown = sorted({f"{where}: todo-cloud {verb}" for where, (verb, _) in named(CLI) if verb not in commands})
    unknown += sorted({f"{where}: todo-cloud {verb} {action}" for where, (verb, action) in named(CLI)
                       if commands.get(verb) and action not in commands[verb]})
    assert unknown == [], f"no such todo-cloud command: {unknown}"


@pytest.mark.parametrize("text, found", [
    ("run `make up` then `make -s render ENV=x`", ["up", "render"]),
    ("make sure it runs (prose, no code)", []),
    ("```sh\nmake sim-up ENV=production\n```", ["sim-up"]),
])
def test_commands_are_read_from_code_only(tmp_path: Path, text: str, found: list[str]) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(text)
    assert [m.group(1) for m in MAKE.finditer(code(doc))] == found
