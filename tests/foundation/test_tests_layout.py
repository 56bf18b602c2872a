"""The layout of tests/ holds: the chart tests mirror the charts (tests/charts/<chart>/, a part of a chart in a
folder of its own), and tests/ is one package whose helpers are imported by their full name (`from
tests.cluster.support import Deployment`), never by a bare name that works only because pytest put the
helper's folder on sys.path.

Modules right under tests/charts test the umbrella release or every chart at once."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from todo_cloud.paths import CHARTS, REPO

TESTS = REPO / "tests"
# The parts of a chart with a test folder of their own: tests/charts/<chart>/<part> -> what of charts/<chart> it
# tests (each must exist, so that a part renamed or removed in the chart shows here).
PARTS: dict[str, tuple[str, ...]] = {
    "platform/eventing": ("templates/kafka", "templates/dapr", "kafka"),
    "platform/observability": ("templates/monitoring", "dashboards", "rules"),
    "platform/backup": ("templates/backup",),
}


def folders(root: Path) -> list[Path]:
    """The folders under `root` that hold Python (caches aside)."""
    return sorted(p for p in root.rglob("*") if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py")))


def chart_test_folders(tests: Path = TESTS, charts: Path = CHARTS) -> list[str]:
    """Folders of tests/charts that name neither a chart of charts/ nor a part of one in PARTS."""
    wrong = []
    for folder in folders(tests / "charts"):
        rel = folder.relative_to(tests / "charts").as_posix()
        chart = rel.split("/")[0]
        if not (charts / chart / "Chart.yaml").is_file():
            wrong.append(f"{rel}: charts/{chart} is not a chart")
        elif "/" in rel and rel not in PARTS:
            wrong.append(f"{rel}: not a part of charts/{chart} (tests/foundation/test_tests_layout.py PARTS)")
    return wrong


def bare_imports(tests: Path = TESTS) -> list[str]:
    """Imports of a module of tests/ by a bare or relative name (`from support import x`, `from .support import
    x`), as `path:line: module`."""
    local = {p.stem for p in tests.rglob("*.py")} | {p.name for p in folders(tests)}
    local -= {"__init__", tests.name, *sys.stdlib_module_names}
    found = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                names = ["." * node.level + (node.module or "")]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{path.relative_to(tests.parent)}:{node.lineno}: {name}" for name in names
                      if name.startswith(".") or name.split(".")[0] in local]
    return found


def test_every_folder_of_the_chart_tests_names_a_chart_or_a_part_of_one() -> None:
    assert chart_test_folders() == []


@pytest.mark.parametrize("part", sorted(PARTS))
def test_every_part_with_a_test_folder_is_in_its_chart(part: str) -> None:
    chart = part.split("/")[0]
    assert [p for p in PARTS[part] if not (CHARTS / chart / p).exists()] == []


def test_every_folder_of_the_tests_is_a_package() -> None:
    """A folder without __init__.py is put on sys.path by pytest (prepend import mode), where bare names work."""
    assert [f.relative_to(REPO).as_posix() for f in [TESTS, *folders(TESTS)] if not (f / "__init__.py").is_file()] \
        == []


def test_no_test_module_imports_a_helper_by_a_bare_name() -> None:
    assert bare_imports() == []


# --- the checks find what they are for ---------------------------------------------------------------------


def test_a_chart_test_folder_that_names_no_chart_is_named(tmp_path: Path) -> None:
    (tmp_path / "charts" / "app").mkdir(parents=True)
    (tmp_path / "charts" / "app" / "Chart.yaml").write_text("name: app\n")
    for folder in ("app", "apps", "app/components"):
        (tmp_path / "tests" / "charts" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "tests" / "charts" / folder / "test_x.py").write_text("")
    assert chart_test_folders(tmp_path / "tests", tmp_path / "charts") == [
        "app/components: not a part of charts/app (tests/foundation/test_tests_layout.py PARTS)",
        "apps: charts/apps is not a chart"]


def test_an_import_of_a_helper_by_a_bare_or_relative_name_is_named(tmp_path: Path) -> None:
    suite = tmp_path / "tests" / "cluster"
    suite.mkdir(parents=True)
    (suite / "support.py").write_text("import platform\n")
    (suite / "test_a.py").write_text("import json\n\nfrom support import x\nfrom tests.cluster.support import y\n")
    (suite / "test_b.py").write_text("from .support import x\nimport support.deeper\n")
    assert bare_imports(tmp_path / "tests") == [
        "tests/cluster/test_a.py:3: support", "tests/cluster/test_b.py:1: .support",
        "tests/cluster/test_b.py:2: support.deeper"]
