"""charts/platform/kafka/topic-configs.yaml: every topic configuration the pinned Apache Kafka documents, with
its type and valid values, as Kafka itself states them: the broker's jars (tools/kafka/jars.lock, fetched
by todo_cloud.runtime.kafka_jars) run `org.apache.kafka.storage.internals.log.LogConfig`, whose main prints
the topic configuration docs (the page kafka.apache.org builds from the same class). The platform chart
refuses a `kafka.topics.<name>.config` key or value this catalogue does not allow, naming the key.

Kafka's validators print as `[a,...,b]` (a range; either end may be open), `[x, y]` (the allowed strings;
for a list, of each element) or `[1,...,9] or -1` (a range and other values); a validator printed
otherwise (`leader.replication.throttled.replicas`) is recorded as text, and only the type is checked.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from todo_cloud.generate import header
from todo_cloud.paths import CHARTS
from todo_cloud.run import run
from todo_cloud.runtime import kafka_jars

CATALOGUE = CHARTS / "platform" / "kafka" / "topic-configs.yaml"
MAIN_CLASS = "org.apache.kafka.storage.internals.log.LogConfig"
_RANGE = re.compile(r"^\[(-?[0-9.eE]+)?,\.\.\.(?:,(-?[0-9.eE]+))?\]$")
_OPEN_BELOW = re.compile(r"^\[\.\.\.,(-?[0-9.eE]+)\]$")


class _ConfigPage(HTMLParser):
    """Reads ConfigDef.toHtml: per `<li>`, the name of its `<h4>` and the `<th>`/`<td>` pairs of its table."""

    def __init__(self) -> None:
        super().__init__()
        self.configs: dict[str, dict[str, str]] = {}
        self._name: str | None = None
        self._field: str | None = None
        self._in: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h4", "th", "td"):
            self._in, self._text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag != self._in:
            return
        text = html.unescape("".join(self._text)).strip()
        if tag == "h4":
            self._name = text
            self.configs[text] = {}
        elif tag == "th":
            self._field = text.rstrip(":").lower()
        elif tag == "td" and self._name and self._field:
            self.configs[self._name][self._field] = text
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)


def _number(text: str, kind: str) -> int | float:
    return float(text) if kind == "double" else int(text)


def _validator(kind: str, text: str) -> dict[str, Any]:
    """The checkable form of a printed validator: min/max, oneOf, also (values allowed besides)."""
    out: dict[str, Any] = {}
    main, _, rest = text.partition(" or ")
    if m := _RANGE.match(main):
        if m[1] is not None:
            out["min"] = _number(m[1], kind)
        if m[2] is not None:
            out["max"] = _number(m[2], kind)
    elif m := _OPEN_BELOW.match(main):
        out["max"] = _number(m[1], kind)
    elif main.startswith("[") and main.endswith("]") and "..." not in main:
        out["oneOf"] = [v.strip() for v in main[1:-1].split(",") if v.strip()]
    else:
        return {"unchecked": True}
    if rest:
        out["also"] = [_number(v.strip(), kind) if kind not in ("string", "list") else v.strip()
                       for v in rest.split(",")]
    return out


def parse(page: str) -> dict[str, dict[str, Any]]:
    """Configs of a ConfigDef HTML page: name -> {type, default, valid (as printed), checks}."""
    parser = _ConfigPage()
    parser.feed(page)
    configs: dict[str, dict[str, Any]] = {}
    for name, fields in sorted(parser.configs.items()):
        kind = fields["type"]
        entry: dict[str, Any] = {"type": kind, "default": fields.get("default", "")}
        valid = fields.get("valid values", "")
        if valid:
            entry["valid"] = valid
            entry.update(_validator(kind, valid))
        configs[name] = entry
    return configs


def documented_page(version: str | None = None) -> str:
    """LogConfig's documentation page of the pinned broker, from its jars (cached beside them)."""
    from todo_cloud.runtime.kafka import java

    version = version or kafka_jars.platform_version()
    classpath = kafka_jars.ensure(version)
    cached = kafka_jars.cache_dir(version) / "topic-configs.html"
    if not cached.is_file():
        out = run([java(), "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", ":".join(map(str, classpath)), MAIN_CLASS],
                  timeout=120).stdout
        if "<li>" not in out:
            raise kafka_jars.JarError(f"{MAIN_CLASS} printed no configuration list:\n{out[:500]}")
        cached.write_text(out)
    return cached.read_text()


def catalogue() -> dict[str, Any]:
    version = kafka_jars.platform_version()
    return {"version": version, "mainClass": MAIN_CLASS, "configs": parse(documented_page(version))}


def generate() -> dict[Path, str]:
    data = catalogue()
    note = (f"# The topic configurations Apache Kafka {data['version']} documents ({MAIN_CLASS}, run from the\n"
            "# pinned broker jars): type, default, valid values as Kafka prints them and as the platform chart\n"
            "# checks them (min/max, oneOf, also; unchecked: only the type). Read by charts/platform's guards.\n")
    return {CATALOGUE: header("kafka_topic_configs") + "\n" + note
            + yaml.safe_dump(data, sort_keys=False, width=200)}
