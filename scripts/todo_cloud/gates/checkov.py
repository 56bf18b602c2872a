"""checkov over the rendered manifests of every environment, the Terraform and the GitHub workflows.

Configured in ONE file, .checkov.yaml at the repo root (external checks, skipped checks). Each entry of
its `skip-check` list carries a comment `# everywhere: <reason>` or `# upstream: <reason>`:
- `everywhere` checks are skipped by checkov itself for every target (each is replaced by a stricter
  project rule, or cannot apply to rendered manifests);
- `upstream` checks are run on every object, and findings on objects of upstream charts are then dropped
  and counted as skipped with their reason -- so our own charts pass with no skip.
CKV_TODO_K8S_1 (image digest) is enforced on the production manifests only.

checkov runs once per target, over a folder holding all environments (`<env>/<ours|upstream>/...`),
the targets in parallel.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from todo_cloud import envs, versions
from todo_cloud.bootstrap import CHECKOV_VENV
from todo_cloud.gates import Finding, kubeschema
from todo_cloud.manifests import object_key
from todo_cloud.paths import CACHE, REPO, TERRAFORM
from todo_cloud.render import Manifest, write_manifests
from todo_cloud.run import CommandError, run
from todo_cloud.tools import ToolError

GATE = "checkov"
CONFIG = REPO / ".checkov.yaml"
WORKFLOWS = REPO / ".github" / "workflows"
POLICY = REPO / "policy" / "checkov"
PRODUCTION_ONLY = {"CKV_TODO_K8S_1": "production"}
SKIP_LINE = re.compile(r"^\s*-\s*(?P<id>CKV\w+)\s*#\s*(?P<scope>everywhere|upstream):\s*(?P<reason>\S.*)$")


def checkov_binary() -> Path:
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.is_file():
        raise ToolError(f"checkov is not installed at {binary}: run `make bootstrap`")
    return binary


@dataclass(frozen=True)
class Skip:
    check: str
    scope: str
    reason: str


def skips(config: Path = CONFIG) -> list[Skip]:
    """The skipped checks of .checkov.yaml with their scope and reason."""
    return [Skip(m["id"], m["scope"], m["reason"].strip())
            for m in map(SKIP_LINE.match, config.read_text().splitlines()) if m]


def skip_entries_without_reason(config: Path = CONFIG) -> list[str]:
    """`skip-check` entries that lack the `# everywhere|upstream: reason` comment."""
    lines, inside, bad = config.read_text().splitlines(), False, []
    for line in lines:
        if re.match(r"^skip-check:", line):
            inside = True
            continue
        if inside and re.match(r"^\S", line):
            inside = False
        if inside and re.match(r"^\s*-\s*\S", line) and not SKIP_LINE.match(line):
            bad.append(line.strip())
    return bad


@dataclass
class PolicyResult:
    """Findings that fail the gate, plus what was dropped as skipped (check -> count) and per target."""

    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    passed: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def as_installed(doc: Manifest, namespace: str) -> Manifest:
    """The object as `helm install --namespace` creates it: a namespaced object without a namespace
    lands in the release namespace (checkov would otherwise judge it to be in `default`)."""
    meta = doc.get("metadata") or {}
    if meta.get("namespace") or not kubeschema.namespaced(str(doc.get("apiVersion", "")), str(doc.get("kind", ""))):
        return doc
    return {**doc, "metadata": {**meta, "namespace": namespace}}


def write_release_tree(root: Path, releases: Mapping[str, list[Manifest]],
                       own: Mapping[str, set[tuple[str, str, str, str]]]) -> dict[str, list[str]]:
    """`<root>/<env>/ours|upstream/<kind>-<name>.yaml` for the objects of every environment.

    An object identical in several environments is written once, under the first of them (checkov's
    time grows with the objects); the result maps each written file (`/<env>/<side>/<file>`, as checkov
    reports it) to every environment it stands for."""
    seen: dict[str, str] = {}
    stands_for: dict[str, list[str]] = {}
    for env, docs in releases.items():
        namespace = envs.get(env).namespace if env in envs.names() else "todo-chatbot"
        docs = [as_installed(d, namespace) for d in docs]
        keys = own.get(env, set())
        for side, header in (("ours", "rendered by our charts"), ("upstream", "rendered by upstream charts")):
            wanted = [d for d in docs if (object_key(d) in keys or object_key(_without_namespace(d)) in keys)
                      == (side == "ours")]
            fresh = []
            for doc in wanted:
                content = side + json.dumps(doc, sort_keys=True, default=str)
                if content in seen:
                    stands_for[seen[content]].append(env)
                else:
                    fresh.append((content, doc))
            written = write_manifests([d for _, d in fresh], root / env / side, f"{env}: {header}")
            for (content, _), path in zip(fresh, written, strict=True):
                rel = "/" + path.relative_to(root).as_posix()
                seen[content] = rel
                stands_for[rel] = [env]
    return stands_for


def _without_namespace(doc: Manifest) -> Manifest:
    return {**doc, "metadata": {k: v for k, v in (doc.get("metadata") or {}).items() if k != "namespace"}}


def _tree_digest(digest: Any, folder: Path) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts)):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())


def _cache_key(target: Path, framework: str, everywhere: Sequence[str]) -> str:
    """Same inputs (files, configuration, custom checks, checkov version), same verdict."""
    digest = hashlib.sha256(json.dumps([framework, list(everywhere), versions.tool("checkov")["version"]]).encode())
    digest.update(CONFIG.read_bytes())
    _tree_digest(digest, POLICY)
    _tree_digest(digest, target)
    return digest.hexdigest()


def _run_checkov(target: Path, framework: str, everywhere: Sequence[str]) -> list[dict[str, Any]]:
    """checkov's JSON reports for one target, cached under .cache/checkov by the digest of its inputs."""
    if os.environ.get("TODO_CLOUD_POLICY_CACHE") == "off":  # `make bench` measures checkov itself
        return _checkov(target, framework, everywhere)
    store = CACHE / "checkov"
    store.mkdir(parents=True, exist_ok=True)
    key = _cache_key(target, framework, everywhere)
    cached = store / f"{key}.json"
    with FileLock(str(store / f"{key}.lock")):
        if cached.is_file():
            return json.loads(cached.read_text())
        reports = _checkov(target, framework, everywhere)
        part = cached.with_suffix(".part")
        part.write_text(json.dumps(reports))
        part.replace(cached)
    return reports


def _checkov(target: Path, framework: str, everywhere: Sequence[str]) -> list[dict[str, Any]]:
    cmd: list[str | Path] = [checkov_binary(), "--config-file", CONFIG, "--directory", target,
                             "--framework", framework, "--output", "json", "--quiet", "--compact",
                             "--skip-download"]
    if framework == "kubernetes":
        # checkov applies the `everywhere` skips; `upstream` ones are applied per object afterwards.
        cmd += ["--skip-check", ",".join(everywhere)]
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    proc = run(cmd, check=False, cwd=REPO, env=env, timeout=600)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise CommandError([str(c) for c in cmd], proc.returncode or 1, proc.stdout, proc.stderr[-4000:])
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if isinstance(r, dict) and "results" in r]


def _where(target_name: str, file_path: str, resource: str) -> str:
    return f"{target_name}{file_path}: {resource}"


def evaluate(reports: list[dict[str, Any]], target_name: str, skip_list: list[Skip], result: PolicyResult,
             stands_for: Mapping[str, list[str]] | None = None) -> None:
    """Fold one target's checkov reports into `result`: a finding on a manifest counts for every
    environment the file stands for, then the production-only scope and the upstream skips apply."""
    upstream = {s.check: s.reason for s in skip_list if s.scope == "upstream"}
    for report in reports:
        result.passed[target_name] = result.passed.get(target_name, 0) + report.get("summary", {}).get("passed", 0)
        for failed in report["results"].get("failed_checks", []):
            check, path = failed["check_id"], failed.get("file_path", "")
            resource, name = failed.get("resource", "?"), failed.get("check_name", "")
            if target_name != "manifests":
                result.findings.append(Finding(GATE, _where(target_name, path, resource), check, name))
                continue
            _, first_env, side, *rest = path.split("/")
            for env in (stands_for or {}).get(path, [first_env]):
                if check in PRODUCTION_ONLY and env != PRODUCTION_ONLY[check]:
                    continue
                if check in upstream and side == "upstream":
                    result.skipped[check] = result.skipped.get(check, 0) + 1
                    continue
                where = _where(target_name, "/".join(["", env, side, *rest]), resource)
                result.findings.append(Finding(GATE, where, check, name))


def targets(manifests: Path | None) -> dict[str, tuple[Path, str]]:
    """name -> (folder, checkov framework) of every target that exists."""
    out: dict[str, tuple[Path, str]] = {}
    if manifests is not None:
        out["manifests"] = (manifests, "kubernetes")
    if TERRAFORM.is_dir() and any(TERRAFORM.glob("*.tf")):
        out["terraform"] = (TERRAFORM, "terraform")
    if WORKFLOWS.is_dir() and any(WORKFLOWS.glob("*.y*ml")):
        out["workflows"] = (REPO / ".github", "github_actions")
    return out


def run_policy(releases: Mapping[str, list[Manifest]], own: Mapping[str, set[tuple[str, str, str, str]]],
               *, include_repo_targets: bool = True) -> PolicyResult:
    """checkov over the releases (and, unless told otherwise, the Terraform and the workflows)."""
    skip_list = skips()
    everywhere = [s.check for s in skip_list if s.scope == "everywhere"]
    result = PolicyResult()
    tmp = Path(tempfile.mkdtemp(prefix="todo-policy-"))
    try:
        manifests = tmp / "manifests" if releases else None
        stands_for = write_release_tree(manifests, releases, own) if manifests is not None else {}
        todo = targets(manifests)
        if not include_repo_targets:
            todo = {k: v for k, v in todo.items() if k == "manifests"}
        for name in ("terraform", "workflows"):
            if include_repo_targets and name not in todo:
                result.notes.append(f"{name}: nothing to check (no files)")
        with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
            futures = {name: pool.submit(_run_checkov, folder, fw, everywhere) for name, (folder, fw) in todo.items()}
            for name, future in futures.items():
                evaluate(future.result(), name, skip_list, result, stands_for)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result
