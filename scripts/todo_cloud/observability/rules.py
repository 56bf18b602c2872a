"""Alert and recording rules: SLO burn-rate rules from config/slos.yaml, the other alerts from
config/observability/alerts.yaml, validated and grouped into Prometheus rule files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from todo_cloud import yamlfile
from todo_cloud.observability import ObservabilityError, promql, runbook
from todo_cloud.paths import CONFIG

SLO_FILE = CONFIG / "slos.yaml"
ALERTS_FILE = CONFIG / "observability" / "alerts.yaml"

SEVERITIES = ("critical", "warning", "info")
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")
SLO_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
ALERT_KEYS = {"alert", "expr", "for", "severity", "summary", "description", "runbook"}
RECORD_PREFIX = "slo:sli_error:ratio_rate"


def _duration(value: Any, where: str) -> str:
    if not isinstance(value, str) or not DURATION.match(value):
        raise ObservabilityError(f"{where}: {value!r} is not a Prometheus duration (like 5m, 6h, 30d)")
    return value


def _runbook_url(base: str, section: str, where: str, anchors: set[str]) -> str:
    if section not in anchors:
        raise ObservabilityError(f"{where}: no section #{section} in {runbook.RUNBOOK.name} "
                                 f"(add a `### ` heading for it)")
    return f"{base}#{section}"


@dataclass(frozen=True)
class Slo:
    name: str
    alert: str
    description: str
    objective: float
    kind: str  # ratio: `events` are the bad events; latency: `events` are the requests fast enough
    events: str
    total: str

    @property
    def budget(self) -> str:
        """The error budget (1 - objective) as PromQL prints it."""
        return f"{1 - self.objective:.6g}"


def load_slos(path: Path = SLO_FILE) -> tuple[list[Slo], list[dict], str]:
    """The SLOs, the burn-rate policy and the budget period; raises ObservabilityError naming the SLO."""
    data = yamlfile.load(path) or {}
    period = _duration(data.get("period"), f"{path.name}: period")
    policy = data.get("burnRates") or []
    if not policy:
        raise ObservabilityError(f"{path.name}: burnRates: at least one burn-rate alert is needed")
    for i, b in enumerate(policy):
        where = f"{path.name}: burnRates[{i}]"
        for key in ("long", "short", "for"):
            _duration(b.get(key), f"{where}.{key}")
        if not isinstance(b.get("factor"), (int, float)) or b["factor"] <= 0:
            raise ObservabilityError(f"{where}.factor: {b.get('factor')!r} is not a positive number")
        if b.get("severity") not in SEVERITIES:
            raise ObservabilityError(f"{where}.severity: {b.get('severity')!r} is not one of {SEVERITIES}")
    slos: list[Slo] = []
    for s in data.get("slos") or []:
        name = s.get("name", "")
        where = f"{path.name}: slos[{name or '?'}]"
        if not SLO_NAME.match(str(name)):
            raise ObservabilityError(f"{where}.name: {name!r} is not a lower-case, hyphenated name")
        objective = s.get("objective")
        if isinstance(objective, bool) or not isinstance(objective, (int, float)) or not 0 < objective < 1:
            raise ObservabilityError(f"{where}.objective: {objective!r} is not strictly between 0 and 1")
        alert = str(s.get("alert", ""))
        if not ALERT_NAME.match(alert):
            raise ObservabilityError(f"{where}.alert: {alert!r} is not a CamelCase alert name")
        sli = s.get("sli") or {}
        if sli.get("type") == "ratio":
            events, total = str(sli.get("errors", "")), str(sli.get("total", ""))
        elif sli.get("type") == "latency":
            threshold = sli.get("threshold")
            if not isinstance(threshold, (int, float)) or threshold <= 0:
                raise ObservabilityError(f"{where}.sli.threshold: {threshold!r} is not a positive bucket bound")
            inner = str(sli.get("selector", "{}")).strip().removeprefix("{").removesuffix("}")
            hist = str(sli.get("histogram", ""))
            events = f'{hist}_bucket{{{inner},le="{threshold:g}"}}'
            total = f"{hist}_count{{{inner}}}"
        else:
            raise ObservabilityError(f"{where}.sli.type: {sli.get('type')!r} is not ratio or latency")
        for label, sel in (("errors", events), ("total", total)):
            promql.check_metrics(sel, f"{where}.sli.{label}")
        slos.append(Slo(name, alert, str(s.get("description", "")), float(objective), sli["type"], events, total))
    if not slos:
        raise ObservabilityError(f"{path.name}: slos: no SLO defined")
    return slos, policy, period


def _sli_expr(slo: Slo, window: str) -> str:
    """The SLO's error ratio over `window`."""
    if slo.kind == "latency":
        return f"1 - (\nsum(rate({slo.events}[{window}]))\n/\nsum(rate({slo.total}[{window}]))\n)"
    # no error series at all means no errors: 0, not an empty result
    return f"(sum(rate({slo.events}[{window}])) or vector(0))\n/\nsum(rate({slo.total}[{window}]))"


def slo_rules(path: Path = SLO_FILE, alerts_path: Path = ALERTS_FILE) -> list[dict]:
    """Recording rules (error ratio per window) and burn-rate alerts of every SLO."""
    slos, policy, period = load_slos(path)
    base = _runbook_base(alerts_path)
    anchors = runbook.anchors()
    windows = sorted({b[k] for b in policy for k in ("long", "short")}, key=_seconds)
    rules: list[dict] = []
    for slo in slos:
        for w in windows:
            rules.append({"record": f"{RECORD_PREFIX}{w}", "expr": _sli_expr(slo, w),
                          "labels": {"slo": slo.name}})
    for slo in slos:
        url = _runbook_url(base, slo.alert.lower(), f"{path.name}: slos[{slo.name}].alert", anchors)
        for b in policy:
            threshold = f"({b['factor']:g} * {slo.budget})"
            rules.append({
                "alert": slo.alert,
                "expr": (f'{RECORD_PREFIX}{b["long"]}{{slo="{slo.name}"}} > {threshold}\n'
                         f'and {RECORD_PREFIX}{b["short"]}{{slo="{slo.name}"}} > {threshold}'),
                "for": b["for"],
                "labels": {"severity": b["severity"], "slo": slo.name,
                           "long_window": b["long"], "short_window": b["short"]},
                "annotations": {
                    "summary": f"{slo.name}: error budget burning {b['factor']:g}x too fast "
                               f"over {b['long']} and {b['short']}",
                    "description": (f"{slo.description} Objective {slo.objective:g} over {period}; at this "
                                    f"rate the budget of the period is gone in "
                                    f"{_human(_seconds(period) / b['factor'])}. Error ratio over "
                                    f"{b['long']}: {{{{ $value | humanizePercentage }}}}."),
                    "runbook_url": url,
                },
            })
    return rules


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", duration))


def _human(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.0f} hours" if hours < 72 else f"{hours / 24:.0f} days"


def _runbook_base(path: Path) -> str:
    base = (yamlfile.load(path) or {}).get("runbookBase")
    if not isinstance(base, str) or not base.startswith("https://"):
        raise ObservabilityError(f"{path.name}: runbookBase: {base!r} is not an https URL of RUNBOOK.md")
    return base


def alert_groups(path: Path = ALERTS_FILE, recorded: frozenset[str] = frozenset()) -> dict[str, list[dict]]:
    """The alerts of config/observability/alerts.yaml by group, as Prometheus rules."""
    data = yamlfile.load(path) or {}
    base = _runbook_base(path)
    anchors = runbook.anchors()
    groups: dict[str, list[dict]] = {}
    for g in data.get("groups") or []:
        gname = str(g.get("name", ""))
        if not SLO_NAME.match(gname) or gname in groups or gname == "slo":
            raise ObservabilityError(f"{path.name}: groups[{gname!r}]: a unique lower-case name (not slo) is needed")
        rules: list[dict] = []
        for r in g.get("rules") or []:
            name = str(r.get("alert", ""))
            where = f"{path.name}: groups[{gname}].rules[{name or '?'}]"
            if not ALERT_NAME.match(name):
                raise ObservabilityError(f"{where}.alert: {name!r} is not a CamelCase alert name")
            unknown = set(r) - ALERT_KEYS
            if unknown:
                raise ObservabilityError(f"{where}: unknown keys {sorted(unknown)}")
            if r.get("severity") not in SEVERITIES:
                raise ObservabilityError(f"{where}.severity: {r.get('severity')!r} is not one of {SEVERITIES}")
            for key in ("summary", "description"):
                text = r.get(key)
                if not isinstance(text, str) or not text.strip():
                    raise ObservabilityError(f"{where}.{key}: missing")
                if text.count("{{") != text.count("}}"):
                    raise ObservabilityError(f"{where}.{key}: unbalanced {{{{ }}}} template")
            expr = str(r.get("expr", "")).strip()
            promql.check_metrics(expr, f"{where}.expr", recorded)
            url = _runbook_url(base, str(r.get("runbook") or name.lower()), f"{where}.runbook", anchors)
            rules.append({
                "alert": name,
                "expr": expr,
                "for": _duration(r.get("for", "0m"), f"{where}.for"),
                "labels": {"severity": r["severity"]},
                "annotations": {"summary": r["summary"].strip(), "description": r["description"].strip(),
                                "runbook_url": url},
            })
        groups[gname] = rules
    return groups


def rule_groups() -> dict[str, list[dict]]:
    """Every rule group: `slo` (generated from the SLOs) and the groups of alerts.yaml, by name."""
    slo = slo_rules()
    recorded = frozenset(r["record"] for r in slo if "record" in r)
    groups = {"slo": slo, **alert_groups(recorded=recorded)}
    seen: dict[str, str] = {}
    for gname, rules in groups.items():
        for r in rules:
            if "alert" in r and seen.setdefault(r["alert"], gname) != gname:
                raise ObservabilityError(f"alert {r['alert']} is defined in groups {seen[r['alert']]} and {gname}")
    return groups
