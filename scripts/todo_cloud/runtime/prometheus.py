"""Prometheus on loopback: the release's rule groups, scraping the harness's processes as the monitors would.

The pure part:
- `rule_files()`: one rule file per rendered PrometheusRule (`groups:` = its spec.groups, unchanged), what
  the Prometheus operator hands its Prometheus; the run evaluates every group at the harness's short
  interval (a group's own `interval` is replaced: the run lasts seconds, not hours; said in the file), and
  a run that must see alerts fire (not only pend) passes `hold`: every alert's `for:` becomes it (the
  rendered `for:` of HighErrorRate is 10m), said in the file too. Nothing else of a rule changes;
- `job_of()`: the `job` label the rendered PodMonitor/ServiceMonitor gives the targets of one port (its
  `job` relabeling), so that the rules' `job="..."` selectors match the harness's series as in the cluster;
  where several monitors scrape a port of that name, the one whose selector matches the given labels;
- `config()`: the scrape jobs of the run (static loopback targets, each with the labels the operator's
  service discovery would add: `namespace`, plus any the caller states) and the rule files.
`start()` runs the pinned server (versions.toml [go_tools.prometheus]) bounded by /-/ready; `Prometheus` is a
small client of its HTTP API (query, targets, rules, alerts).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import gobuild
from todo_cloud.gates.project import selector_matches
from todo_cloud.processes import LOOPBACK, Supervisor, http_status, poll
from todo_cloud.render import Manifest

BUILD = "prometheus"
START_TIMEOUT = 60.0
# Scrape and rule evaluation interval of the run.
INTERVAL = "1s"


class PlanError(ValueError):
    """The rendered monitors cannot say how a harness target is scraped; the message names what is missing."""


@dataclass(frozen=True)
class ScrapeJob:
    """Loopback targets scraped as one job."""

    job: str
    targets: tuple[str, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    path: str = "/metrics"


def prometheus_rules(rendered: Iterable[Manifest]) -> list[Manifest]:
    return [o for o in rendered if o.get("kind") == "PrometheusRule"]


def rule_files(rendered: Iterable[Manifest], interval: str = INTERVAL,
               hold: str | None = None) -> dict[str, dict[str, Any]]:
    """File name -> rule file content, one per rendered PrometheusRule, every group at `interval`, and every
    alert's `for:` replaced by `hold` when one is given."""
    out: dict[str, dict[str, Any]] = {}
    for rule in prometheus_rules(rendered):
        groups = [{**g, "interval": interval,
                   "rules": [{**r, "for": hold} if hold is not None and "alert" in r and "for" in r else r
                             for r in g.get("rules", [])]}
                  for g in rule.get("spec", {}).get("groups", [])]
        out[f"{rule['metadata']['name']}.rules.yaml"] = {"groups": groups}
    return out


def _selects(monitor: Manifest, labels: Mapping[str, str] | None) -> bool:
    return labels is None or selector_matches(monitor["spec"].get("selector"), dict(labels))


def job_of(rendered: Iterable[Manifest], port: str, labels: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(job, metrics path) that the rendered monitor endpoint of container/Service port `port` gives its targets
    (with `labels`: of the monitor whose selector matches them, the Service's or the pod's)."""
    for obj in rendered:
        if obj.get("kind") not in ("PodMonitor", "ServiceMonitor") or not _selects(obj, labels):
            continue
        endpoints = obj["spec"].get("podMetricsEndpoints") or obj["spec"].get("endpoints") or []
        for ep in endpoints:
            if ep.get("port") != port:
                continue
            for relabel in ep.get("relabelings", []):
                if relabel.get("targetLabel") == "job" and relabel.get("action", "replace") == "replace" \
                        and "replacement" in relabel and not relabel.get("sourceLabels"):
                    return relabel["replacement"], ep.get("path", "/metrics")
            raise PlanError(f"{obj['kind']}/{obj['metadata']['name']} port {port}: no relabeling sets a fixed job")
    raise PlanError(f"no rendered PodMonitor or ServiceMonitor scrapes a port named {port!r}"
                    + (f" of targets labelled {dict(labels)}" if labels is not None else ""))


def config(jobs: Iterable[ScrapeJob], rule_dir: Path, interval: str = INTERVAL) -> dict[str, Any]:
    """prometheus.yml of the run."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": [str(rule_dir / "*.rules.yaml")],
        "scrape_configs": [
            {"job_name": j.job, "metrics_path": j.path,
             "static_configs": [{"targets": list(j.targets), "labels": dict(j.labels)}]}
            for j in jobs
        ],
    }


class QueryError(RuntimeError):
    """Prometheus answered an API call with an error."""


@dataclass
class Prometheus:
    """A running Prometheus and a small client of its API."""

    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as resp:
            body = json.loads(resp.read())
        if body.get("status") != "success":
            raise QueryError(f"{path}: {body}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """Instant vector result of `expr`."""
        return self.api("query", query=expr)["result"]

    def targets(self) -> list[dict]:
        return self.api("targets")["activeTargets"]

    def rule_groups(self) -> list[dict]:
        return self.api("rules")["groups"]

    def alerts(self) -> list[dict]:
        return self.api("alerts")["alerts"]

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
        """Poll `check` until it returns something truthy (returned); TimeoutError naming `what` and the log."""
        result = poll(check, timeout=timeout, interval=0.5)
        if not result:
            raise TimeoutError(f"Prometheus: {what} not within {timeout:.0f} s (log: {self.log})")
        return result


def binary() -> Path:
    """The pinned Prometheus server, built from the Go module proxy when absent."""
    return gobuild.build(BUILD)


def start(sup: Supervisor, rendered: Iterable[Manifest], jobs: Iterable[ScrapeJob], *,
          timeout: float = START_TIMEOUT, hold: str | None = None) -> Prometheus:
    """Start Prometheus with the rendered rule groups and the run's scrape jobs; bounded by /-/ready.
    `hold`: every alert's `for:` in this run (None: as rendered)."""
    rendered = list(rendered)
    folder = sup.workdir / "prometheus"
    rule_dir = folder / "rules"
    rule_dir.mkdir(parents=True, exist_ok=True)
    held = f"; every alert's for: is {hold}" if hold is not None else ""
    for name, content in rule_files(rendered, hold=hold).items():
        (rule_dir / name).write_text(f"# rule groups of PrometheusRule {name.removesuffix('.rules.yaml')}, "
                                     f"evaluated every {INTERVAL} in this run{held}\n" + yaml.safe_dump(content))
    cfg = folder / "prometheus.yml"
    cfg.write_text(yaml.safe_dump(config(jobs, rule_dir)))
    port = sup.free_port()
    sup.start("prometheus", [binary(), f"--config.file={cfg}", f"--storage.tsdb.path={folder / 'data'}",
                             f"--web.listen-address={LOOPBACK}:{port}", "--log.level=info"])
    sup.wait_for("prometheus", lambda: http_status(f"http://{LOOPBACK}:{port}/-/ready") == 200,
                 timeout=timeout, what="Prometheus to be ready (/-/ready)")
    return Prometheus(port, sup.log("prometheus"))
