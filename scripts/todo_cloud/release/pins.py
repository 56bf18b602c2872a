"""Upstream images pinned by digest in an environment's values (`todo-cloud images pin`).

The pinned chart versions bring their images by tag. For an environment this renders the release with the
pin keys of config/image-pins.yaml removed (so the tags are the charts' own), collects every image that runs
(pod containers, the images operators start for our custom resources, the injected Dapr sidecar), resolves
each upstream tag's digest from its registry (todo_cloud.release.oci) and writes the keys into values/<env>.yaml,
comments and layout kept. All or nothing: every image is resolved, and the release rendered with the new pins
is checked to run no upstream image by tag, before the file is written once.

The app's own images are not pinned here: they are deploy inputs (`todo-cloud deploy --image`).
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from todo_cloud import envs, yaml_edit, yamlfile
from todo_cloud.manifests import (
    DIGESTED,
    Manifest,
    all_image_settings,
    chart_of,
    image_references,
    image_settings,
    kafka_images,
    object_id,
    split_image,
)
from todo_cloud.paths import CONFIG, UMBRELLA
from todo_cloud.release import oci
from todo_cloud.render import lookup, render_chart

PINS = CONFIG / "image-pins.yaml"
# Charts whose images are deploy inputs rather than pins (charts/app: `todo-cloud deploy --image`).
INPUT_CHARTS = frozenset({"app"})
Resolver = Callable[[str, str], str]


class PinError(RuntimeError):
    """Pins that cannot be written; the message names every image or key at fault."""


@dataclass(frozen=True)
class Pin:
    """One values key (dotted, from the umbrella's values) that pins an image, in its chart's form."""

    key: str
    form: str  # sha | digest | ref | tag

    def value(self, repository: str, tag: str, digest: str) -> str:
        hexdigits = digest.removeprefix("sha256:")
        return {"sha": hexdigits, "digest": digest, "ref": f"{repository}:{tag}@{digest}",
                "tag": f"{tag}@{digest}"}[self.form]


@dataclass(frozen=True)
class PinConfig:
    images: dict[str, list[Pin]]
    operator_images: dict[str, str]

    @property
    def keys(self) -> list[str]:
        return [p.key for pins in self.images.values() for p in pins]


def load(path: Path = PINS) -> PinConfig:
    data = yamlfile.load(path)
    return PinConfig({repo: [Pin(**p) for p in pins] for repo, pins in data["images"].items()},
                     dict(data.get("operatorImages") or {}))


# --- what runs --------------------------------------------------------------------------------------------


def running_images(docs: list[Manifest], config: PinConfig, namespace: str = "-") -> dict[str, list[str]]:
    """image -> the objects that run it (object ids, `... (env VAR)` for an operator's image setting named in
    config/image-pins.yaml `operatorImages`); `namespace`: the release's, for objects that set none."""
    found: dict[str, set[str]] = {}

    def add(image: str, owner: str) -> None:
        found.setdefault(image, set()).add(owner)

    settings = all_image_settings(docs)
    for doc in docs:
        owner = object_id(doc, namespace)
        for image in image_references(doc):
            add(image, owner)
        for name, value in image_settings(doc):
            if name in config.operator_images:
                add(value, f"{owner} (env {name})")
        if doc.get("kind") == "Kafka" and str(doc.get("apiVersion", "")).startswith("kafka.strimzi.io/"):
            for image in kafka_images(doc, settings):
                add(image, owner)
    return {image: sorted(owners) for image, owners in sorted(found.items())}


def upstream_by_tag(docs: list[Manifest], config: PinConfig, namespace: str = "-") -> dict[str, list[str]]:
    """Running images not pinned by digest, leaving out the app's own (deploy inputs)."""
    inputs = {object_id(d, namespace) for d in docs if chart_of(d) in INPUT_CHARTS}
    return {image: owners for image, owners in running_images(docs, config, namespace).items()
            if not DIGESTED.search(image) and not all(o.split(" ")[0] in inputs for o in owners)}


# --- values -----------------------------------------------------------------------------------------------


def _set(tree: Any, key: str, value: Any) -> None:
    *parents, last = key.split(".")
    node = tree
    for part in parents:
        if not isinstance(node.get(part), Mapping):
            node[part] = {}
        node = node[part]
    node[last] = value


def _delete(tree: Any, key: str) -> None:
    """Remove `key`, and the maps it leaves empty."""
    *parents, last = key.split(".")
    chain = [tree]
    for part in parents:
        if not isinstance(chain[-1].get(part), Mapping):
            return
        chain.append(chain[-1][part])
    chain[-1].pop(last, None)
    for depth in range(len(parents), 0, -1):
        if chain[depth]:
            break
        chain[depth - 1].pop(parents[depth - 1])


def current_pins(values: Mapping[str, Any], config: PinConfig) -> dict[str, Any]:
    """The pin keys a values tree sets, key -> value."""
    return {k: v for k in config.keys if (v := lookup(values, k.split("."))) is not None}


def without_pins(values: Mapping[str, Any], config: PinConfig) -> dict[str, Any]:
    tree = copy.deepcopy(dict(values))
    for key in config.keys:
        _delete(tree, key)
    return tree


# --- the plan ---------------------------------------------------------------------------------------------


@dataclass
class PinPlan:
    """What pinning an environment would write: key -> new value, and the keys it would remove."""

    env: str
    pins: dict[str, str]
    current: dict[str, Any]
    resolved: dict[str, str] = field(default_factory=dict)  # image (repository:tag) -> digest

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        keys = sorted(set(self.pins) | set(self.current))
        return {k: (self.current.get(k), self.pins.get(k)) for k in keys if self.current.get(k) != self.pins.get(k)}


def _render(env: envs.Environment, values: Mapping[str, Any]) -> list[Manifest]:
    with tempfile.TemporaryDirectory(prefix="todo-pins-") as tmp:
        path = Path(tmp) / f"{env.name}.yaml"
        path.write_text(yaml.safe_dump(dict(values), sort_keys=False))
        layers = [f for f in env.values_files if f != env.values_file]  # the profile's layer, if any
        return render_chart(UMBRELLA, [*layers, path], release=env.release, namespace=env.namespace)


def plan(env_name: str, resolver: Resolver, config: PinConfig | None = None,
         values_file: Path | None = None) -> PinPlan:
    """Resolve and check the pins of one environment; PinError naming every problem, before any write."""
    config = config or load()
    env = envs.get(env_name)
    values_file = values_file or env.values_file
    values = yamlfile.load(values_file) or {}
    base = without_pins(values, config)
    wanted = upstream_by_tag(_render(env, base), config, env.namespace)
    problems, pins, resolved = [], {}, {}
    for image, owners in wanted.items():
        parts = split_image(image)
        repository, tag = str(parts["repository"]), parts["tag"]
        entries = config.images.get(repository)
        if not entries or not tag:
            why = "has no tag" if entries else f"has no entry in {PINS.relative_to(CONFIG.parent)}"
            problems.append(f"{image} (run by {', '.join(owners)}) {why}")
            continue
        try:
            resolved[f"{repository}:{tag}"] = digest = resolver(repository, tag)
        except oci.RegistryError as exc:
            problems.append(str(exc))
            continue
        for pin in entries:
            value = pin.value(repository, tag, digest)
            if pins.setdefault(pin.key, value) != value:
                problems.append(f"{pin.key}: pins both {pins[pin.key]} and {value}")
    if not problems:
        pinned = copy.deepcopy(base)
        for key, value in pins.items():
            _set(pinned, key, value)
        still = upstream_by_tag(_render(env, pinned), config, env.namespace)
        problems += [f"{image} (run by {', '.join(owners)}) still runs by tag with the pins set: check its keys "
                     f"in {PINS.name}" for image, owners in still.items()]
    if problems:
        raise PinError(f"{env.name}: cannot pin the upstream images:\n  " + "\n  ".join(problems))
    return PinPlan(env.name, pins, current_pins(values, config), resolved)


def write(plan_: PinPlan, values_file: Path, config: PinConfig | None = None) -> None:
    """Write the plan's pins into `values_file`, keeping its comments and layout (ruamel round trip)."""
    config = config or load()

    def apply(tree: Any) -> None:
        for key in config.keys:
            if key not in plan_.pins:
                _delete(tree, key)
        for key, value in plan_.pins.items():
            _set(tree, key, value)

    values_file.write_text(yaml_edit.edit(values_file.read_text(), apply))

