"""The workload images as far as they can be checked without a Docker engine (none runs here, so nothing is
built): each image's pinned packages equal requirements.lock (what the tests ran) and hold everything the
service imports; the Dockerfiles run the chart's UID/GID on one pinned Python base, expose the contract's
port and pass hadolint; the contract table of workloads/README.md matches the chart's values.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.workloads.support import COMMON, SERVICES, WORKLOADS
from todo_cloud import yamlfile
from todo_cloud.paths import CHARTS, REPO
from todo_cloud.run import run

APP = yamlfile.load(CHARTS / "app" / "values.yaml")
PLATFORM = yamlfile.load(CHARTS / "platform" / "values.yaml")
LOCK = REPO / "requirements.lock"
NAMES = sorted(SERVICES)
FIRST_PARTY = ("todo_workload", *(s.package for s in SERVICES.values()))


def pins(path: Path) -> dict[str, str]:
    """canonical name -> version of a pinned requirements file."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            [spec] = req.specifier
            assert spec.operator == "==", f"{path}: {line} is not pinned with =="
            out[canonicalize_name(req.name)] = spec.version
    return out


def dockerfile(name: str) -> list[tuple[str, str]]:
    """(instruction, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (WORKLOADS / name / "Dockerfile").read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def contract() -> dict[str, dict[str, str]]:
    """The services table of workloads/README.md, by service."""
    text = (WORKLOADS / "README.md").read_text()
    section = text.split("\n## Services\n", 1)[1].lstrip("\n")
    lines = section.split("\n\n", 1)[0].splitlines()  # the first table of the section
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip().strip("`") for c in x.strip("|").split("|")] for x in lines[2:]]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def imported_distributions(name: str) -> set[str]:
    """Distributions providing the third-party modules the service's package imports, following its imports
    of the shared todo_workload package (only the modules it reaches: the image copies all of them)."""
    sources = {SERVICES[name].package: SERVICES[name].path / SERVICES[name].package, "todo_workload": COMMON /
               "todo_workload"}
    seen: set[Path] = set()
    todo = list((SERVICES[name].path / SERVICES[name].package).glob("*.py"))
    third: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            if isinstance(node, ast.ImportFrom) and node.module in sources:
                modules += [f"{node.module}.{a.name}" for a in node.names]
            for module in modules:
                root, _, rest = module.partition(".")
                if root in sources:
                    candidate = sources[root] / (rest.split(".")[0] + ".py") if rest else sources[root] / "__init__.py"
                    if candidate.is_file():
                        todo.append(candidate)
                elif root not in sys.stdlib_module_names and root != "__future__":
                    third.add(root)
    dists = importlib.metadata.packages_distributions()
    return {canonicalize_name(d) for root in third for d in dists[root]}


@pytest.mark.parametrize("name", NAMES)
def test_image_packages_are_pinned_at_the_versions_of_requirements_lock(name: str) -> None:
    image, lock = pins(WORKLOADS / name / "requirements.txt"), pins(LOCK)
    assert {pkg: (version, lock.get(pkg)) for pkg, version in image.items() if lock.get(pkg) != version} == {}


@pytest.mark.parametrize("name", NAMES)
def test_image_packages_hold_their_whole_dependency_closure(name: str) -> None:
    image = pins(WORKLOADS / name / "requirements.txt")
    missing = set()
    for pkg in image:
        for raw in importlib.metadata.requires(pkg) or []:
            req = Requirement(raw)
            applies = req.marker is None or req.marker.evaluate({"extra": ""})
            if applies and canonicalize_name(req.name) not in image:
                missing.add(f"{req.name} (required by {pkg})")
    assert missing == set()


@pytest.mark.parametrize("name", NAMES)
def test_image_packages_provide_every_module_the_service_imports(name: str) -> None:
    needed = imported_distributions(name)
    assert needed, "the import walk found no third-party import"
    assert needed - set(pins(WORKLOADS / name / "requirements.txt")) == set()


@pytest.mark.parametrize("name", NAMES)
def test_the_image_runs_as_the_charts_uid_and_gid(name: str) -> None:
    security = APP["defaults"]["securityContext"]
    users = [args for instr, args in dockerfile(name) if instr == "USER"]
    assert users == [f"{security['runAsUser']}:{security['runAsGroup']}"]


def test_every_image_stage_is_one_pinned_slim_python_of_the_tests_python() -> None:
    bases = {args.split()[0] for name in NAMES for instr, args in dockerfile(name) if instr == "FROM"}
    [base] = bases
    match = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-[a-z]+", base)
    assert match, f"{base} is not pinned to an exact python:<x.y.z>-slim-<debian> tag"
    assert (int(match[1]), int(match[2])) == sys.version_info[:2]


@pytest.mark.parametrize("name", NAMES)
def test_the_image_exposes_and_listens_on_the_contract_port(name: str) -> None:
    port = contract()[name]["port"]
    instructions = dockerfile(name)
    assert [args for instr, args in instructions if instr == "EXPOSE"] == [port]
    env = " ".join(args for instr, args in instructions if instr == "ENV")
    assert re.search(rf"\bPORT={port}\b", env)
    main = (SERVICES[name].path / SERVICES[name].package / "__main__.py").read_text()
    assert f"default_port={port}" in main


@pytest.mark.parametrize("name", NAMES)
def test_the_image_starts_the_service_package_and_copies_only_what_exists(name: str) -> None:
    instructions = dockerfile(name)
    assert [args for instr, args in instructions if instr == "ENTRYPOINT"] == [
        f'["python", "-m", "{SERVICES[name].package}"]']
    sources = [args.split()[0] for instr, args in instructions if instr == "COPY" and not args.startswith("--from")]
    assert sources and all((WORKLOADS / src).exists() for src in sources), sources


@pytest.mark.parametrize("name", NAMES)
def test_hadolint_finds_nothing_in_the_dockerfile(name: str) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = run([hadolint, "--no-color", WORKLOADS / name / "Dockerfile"], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [n for n in NAMES if n in APP["components"]])
def test_the_contract_table_matches_the_app_charts_component(name: str) -> None:
    row, component, defaults = contract()[name], APP["components"][name], APP["defaults"]

    def probe(kind: str) -> str:
        return ((component.get("probes") or {}).get(kind) or {}).get("path") or defaults["probes"][kind]["path"]

    assert (row["Dapr app id"], row["port"], row["image (under `app.image.registry`)"]) == (
        name, str(component["port"]), component["image"]["repository"])
    assert (row["startup / liveness"], row["readiness"]) == (probe("startup"), probe("readiness"))
    assert probe("liveness") == probe("startup")
    assert row["metrics"] == PLATFORM["monitoring"]["targets"][name]["path"]


def test_the_contract_table_lists_every_workload_with_its_health_path() -> None:
    table = contract()
    assert set(table) == set(SERVICES)
    assert {name: row["startup / liveness"] for name, row in table.items()} == {
        name: spec.health for name, spec in SERVICES.items()}


def test_the_workload_code_passes_ruff() -> None:
    result = run([Path(sys.executable).parent / "ruff", "check", "--no-cache", WORKLOADS], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing_in_the_dockerfiles(prerequisite: Callable[[str], Path]) -> None:
    result = run([prerequisite("checkov"), "--directory", WORKLOADS, "--framework", "dockerfile", "--output", "json",
                  "--quiet", "--compact", "--skip-download"], check=False, timeout=300)
    data = json.loads(result.stdout)
    reports = [r for r in (data if isinstance(data, list) else [data]) if isinstance(r, dict) and "results" in r]
    failed = [f"{f['check_id']} {f['file_path']}" for r in reports for f in r["results"]["failed_checks"]]
    assert sum(r["summary"]["passed"] for r in reports) > 0, "checkov checked nothing"
    assert (result.returncode, failed) == (0, []), result.stderr[-2000:]


@pytest.mark.parametrize("name", NAMES)
def test_the_images_healthcheck_passes_against_the_running_service(name: str, request: pytest.FixtureRequest) -> None:
    service = request.getfixturevalue({"backend": "backend_service", "analytics": "analytics",
                                       "frontend": "frontend_service"}[name])
    [check] = [args for instr, args in dockerfile(name) if instr == "HEALTHCHECK"]
    argv = json.loads(check.split(" CMD ", 1)[1])
    assert argv[0] == "python"
    result = run([sys.executable, *argv[1:]], check=False, timeout=30, env={"PORT": str(service.port)})
    assert result.returncode == 0, result.stderr
