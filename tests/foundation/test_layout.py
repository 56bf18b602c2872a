"""The package layout of scripts/todo_cloud holds: no import cycles, one subprocess wrapper, libraries that
never call the CLI, and a bootstrap that runs on the standard library alone.

Imports are read from the source (every `import` statement, also those inside functions, which is where
cycles hide), so these checks need nothing imported."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from todo_cloud.paths import REPO

PACKAGE = REPO / "scripts" / "todo_cloud"
# The one wrapper around commands that end, and the one supervisor of processes that keep running.
SUBPROCESS_OWNERS = {"todo_cloud.run", "todo_cloud.processes"}
# Modules that run before the venv exists (`make bootstrap`, `make lock`): the standard library only, so they
# keep their own subprocess calls (pip streaming to the terminal, go install and go build).
BOOTSTRAP_TIME = {"todo_cloud.bootstrap", "todo_cloud.lock", "todo_cloud.tools", "todo_cloud.gobuild"}
# Modules allowed an `if __name__ == "__main__"` block: the CLI itself and what runs before it exists.
MAIN_BLOCKS = {"todo_cloud.cli", "todo_cloud.bootstrap", "todo_cloud.lock"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of todo_cloud by dotted name (packages by their __init__.py)."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_names(name: str) -> Iterator[str]:
    """Every dotted name a module imports: `from a import b` yields `a.b` when that is a module, else `a`."""
    tree = ast.parse(modules()[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in modules() else node.module


def own_imports(name: str) -> set[str]:
    """The todo_cloud modules a module imports, with the packages that importing them runs first."""
    found: set[str] = set()
    for imported in imported_names(name):
        parts = imported.split(".")
        found |= {".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in modules()}
    return found - {name}


def cycles() -> list[list[str]]:
    """Every import cycle among todo_cloud's modules (one path per cycle found by a depth-first search)."""
    graph = {name: own_imports(name) for name in modules()}
    found: list[list[str]] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return found


def test_the_modules_import_each_other_without_a_cycle() -> None:
    assert cycles() == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles())


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "todo_cloud"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "a.py").write_text("from todo_cloud import b\n")
    (fake / "b.py").write_text("def later():\n    from todo_cloud.a import x\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    modules.cache_clear()
    try:
        assert cycles() == [["todo_cloud.a", "todo_cloud.b", "todo_cloud.a"]]
    finally:
        modules.cache_clear()


def test_only_the_wrappers_and_the_bootstrap_import_subprocess() -> None:
    users = sorted(name for name in modules() if any(i.split(".")[0] == "subprocess" for i in imported_names(name)))
    assert set(users) <= SUBPROCESS_OWNERS | BOOTSTRAP_TIME, (
        "use todo_cloud.run.run (commands that end) or todo_cloud.processes.Supervisor (servers): "
        f"{sorted(set(users) - SUBPROCESS_OWNERS - BOOTSTRAP_TIME)}")


def test_no_library_calls_the_cli() -> None:
    callers = sorted(name for name in modules() if name != "todo_cloud.cli" and not name.startswith(
        "todo_cloud.commands") and own_imports(name) & ({"todo_cloud.cli"} | {
            m for m in modules() if m.startswith("todo_cloud.commands")}))
    assert callers == [], f"libraries importing the CLI or its commands: {callers}"


@pytest.mark.parametrize("entry", sorted(BOOTSTRAP_TIME))
def test_what_runs_before_the_venv_needs_only_the_standard_library(entry: str) -> None:
    reached, todo = set(), [entry]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo += sorted(own_imports(name))
    third_party = sorted({f"{name}: {i}" for name in reached for i in imported_names(name)
                          if i.split(".")[0] not in sys.stdlib_module_names and i.split(".")[0] != "todo_cloud"})
    assert third_party == [], f"{entry} reaches packages that are not in the standard library: {third_party}"


def test_only_the_cli_and_the_bootstrap_have_a_main_block() -> None:
    mains = sorted(name for name, path in modules().items() if '__name__ == "__main__"' in path.read_text())
    assert set(mains) <= MAIN_BLOCKS, f"run these as todo-cloud commands instead: {sorted(set(mains) - MAIN_BLOCKS)}"
