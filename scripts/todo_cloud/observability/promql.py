"""PromQL syntax and the metrics catalogue: which metrics an expression reads, and whether Prometheus
collects them (config/observability/metrics.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import promql_parser

from todo_cloud import yamlfile
from todo_cloud.observability import ObservabilityError
from todo_cloud.paths import CONFIG

CATALOGUE_FILE = CONFIG / "observability" / "metrics.yaml"

# Grafana's template variables, replaced by sample values before a panel query is parsed.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
}


@dataclass(frozen=True)
class Selector:
    """A metric read by an expression, with its `job` matcher when it has an exact one."""

    metric: str
    job: str | None


@dataclass(frozen=True)
class Target:
    """One scrape target of the catalogue."""

    job: str
    monitor_kind: str
    monitor_name: str
    chart: str
    metrics: frozenset[str]
    # The part of the platform chart the target exists with (its monitor renders while `<part>.enabled`); "" none.
    part: str = ""


@dataclass(frozen=True)
class Catalogue:
    targets: dict[str, Target]
    synthetic: frozenset[str]

    def all_metrics(self) -> frozenset[str]:
        return frozenset().union(*(t.metrics for t in self.targets.values())) | self.synthetic


def load_catalogue(path: Path = CATALOGUE_FILE) -> Catalogue:
    """The metrics catalogue; raises ObservabilityError naming a malformed target."""
    data = yamlfile.load(path) or {}
    targets: dict[str, Target] = {}
    for job, t in (data.get("targets") or {}).items():
        monitor = str(t.get("monitor", ""))
        kind, _, name = monitor.partition("/")
        if kind not in ("ServiceMonitor", "PodMonitor") or not name:
            raise ObservabilityError(f"{path.name}: targets.{job}.monitor: expected ServiceMonitor/<name> or "
                                     f"PodMonitor/<name>, got {monitor!r}")
        if not t.get("metrics"):
            raise ObservabilityError(f"{path.name}: targets.{job}.metrics: no metrics listed")
        targets[job] = Target(job, kind, name, str(t.get("chart", "")), frozenset(t["metrics"]),
                              str(t.get("part", "")))
    return Catalogue(targets, frozenset(data.get("synthetic") or ()))


@cache
def catalogue() -> Catalogue:
    return load_catalogue()


def parse(expr: str, where: str) -> Any:
    """The parsed expression; raises ObservabilityError naming `where` on a syntax error."""
    try:
        return promql_parser.parse(expr)
    except ValueError as exc:
        raise ObservabilityError(f"{where}: invalid PromQL ({exc}): {expr.strip()}") from None


def _children(node: Any) -> list[Any]:
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, (promql_parser.ParenExpr, promql_parser.SubqueryExpr, promql_parser.UnaryExpr)):
        return [node.expr]
    return []


def selectors(expr: str, where: str) -> list[Selector]:
    """Every metric `expr` reads (with its exact `job` matcher, if any)."""
    found: list[Selector] = []
    stack = [parse(expr, where)]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name
            job = None
            for m in node.matchers.matchers:
                if m.name == "__name__" and str(m.op).endswith("Equal"):
                    name = name or m.value
                if m.name == "job" and str(m.op) == "MatchOp.Equal":
                    job = m.value
            if not name:
                raise ObservabilityError(f"{where}: a selector without a metric name: {expr.strip()}")
            found.append(Selector(name, job))
        stack.extend(_children(node))
    return found


def substitute_grafana_variables(expr: str) -> str:
    """A panel query with Grafana's variables replaced by sample values, so that it parses."""
    for var, sample in GRAFANA_VARIABLES.items():
        expr = expr.replace(var, sample)
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", r"sample_\1", expr)


def check_metrics(expr: str, where: str, extra: frozenset[str] = frozenset(), cat: Catalogue | None = None) -> None:
    """Raise ObservabilityError naming `where` when `expr` reads a metric no scrape target collects (or one
    its `job` matcher's target does not collect). `extra`: metrics recorded by our own recording rules."""
    cat = cat or catalogue()
    for sel in selectors(expr, where):
        if sel.metric in extra or sel.metric in cat.synthetic:
            continue
        if sel.job is not None:
            target = cat.targets.get(sel.job)
            if target is None:
                raise ObservabilityError(f"{where}: job {sel.job!r} is not a scrape target of the catalogue "
                                         f"({CATALOGUE_FILE.name}); known: {sorted(cat.targets)}")
            if sel.metric not in target.metrics:
                raise ObservabilityError(f"{where}: metric {sel.metric!r} is not collected from job {sel.job!r} "
                                         f"(add it to targets.{sel.job}.metrics in {CATALOGUE_FILE.name})")
        elif sel.metric not in cat.all_metrics():
            raise ObservabilityError(f"{where}: metric {sel.metric!r} is not collected by any scrape target "
                                     f"of {CATALOGUE_FILE.name}")
