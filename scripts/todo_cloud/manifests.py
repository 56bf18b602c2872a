"""What is read off a Kubernetes object, in one place: rendered manifests and what a cluster returns alike.

- names: `object_id` (`Kind/namespace/name`, the one way a message names an object), `object_key`
  (identity across renders), `chart_of` (the chart that rendered it);
- pods: `pod_spec`, `pod_metadata` (labels, annotations) and `containers` of any workload kind, and the
  Dapr sidecar it asks for (`dapr_app_id`);
- images: the images an object runs itself (`image_references`), the image settings operators and
  injectors start pods from (`image_settings`, `operand_images`), the images Strimzi runs for a Kafka
  resource (`kafka_images`), an image reference split into repository, tag and digest (`split_image`);
- quantities: `quantity` (`250m`, `512Mi`, `1G` as cores or bytes);
- volumes: `volume_claims`, the persistent volumes an object asks for (a PersistentVolumeClaim, a
  StatefulSet's claim templates, and those operators create for Prometheus, Alertmanager and Kafka node
  pools), each with its size, StorageClass and count.

Standard library only; nothing here needs Helm or a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

Manifest = dict[str, Any]
# Identity of an object across renders: apiVersion, kind, namespace, name.
ObjectKey = tuple[str, str, str, str]

# Kinds whose objects create pods.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


# --- names ------------------------------------------------------------------------------------------------


def object_id(doc: Mapping[str, Any], namespace: str = "-") -> str:
    """`Kind/namespace/name` of an object; `namespace` stands in where the object sets none (the release's
    namespace where the caller knows it, `-` for cluster-scoped or unknown)."""
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind', '?')}/{meta.get('namespace') or namespace}/{meta.get('name', '?')}"


def object_key(doc: Mapping[str, Any]) -> ObjectKey:
    """Identity of an object across renders: apiVersion, kind, namespace, name."""
    meta = doc.get("metadata") or {}
    return (doc.get("apiVersion", ""), doc.get("kind", ""), meta.get("namespace") or "", meta.get("name", ""))


def chart_of(doc: Mapping[str, Any]) -> str | None:
    """Name of the chart an object comes from, by its `helm.sh/chart: <name>-<version>` label."""
    label = ((doc.get("metadata") or {}).get("labels") or {}).get("helm.sh/chart")
    return str(label).rsplit("-", 1)[0] if label else None


# --- pods -------------------------------------------------------------------------------------------------


def _template(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod template of an object (a CronJob's is in its job template); empty when it has none."""
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template if isinstance(template, dict) else {}


def pod_spec(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a workload (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob, ...), or None."""
    kind = doc.get("kind")
    if kind == "Pod":
        return doc.get("spec") or {}
    if kind in WORKLOAD_KINDS and (template := _template(doc)):
        return template.get("spec")
    return None


def pod_metadata(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The metadata of the pods an object creates (a Pod's own)."""
    if doc.get("kind") == "Pod":
        return doc.get("metadata") or {}
    return _template(doc).get("metadata") or {}


def pod_labels(doc: Mapping[str, Any]) -> dict[str, str]:
    """Labels of the pods a workload creates."""
    return pod_metadata(doc).get("labels") or {}


def pod_annotations(doc: Mapping[str, Any]) -> dict[str, str]:
    """Annotations of the pods a workload creates."""
    return pod_metadata(doc).get("annotations") or {}


def containers(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every container of a workload's pods: init containers, containers, ephemeral containers."""
    spec = pod_spec(doc) or {}
    for key in CONTAINER_LISTS:
        yield from spec.get(key) or []


def dapr_app_id(doc: Mapping[str, Any]) -> str | None:
    """The Dapr app id of a workload whose pods get the Dapr sidecar (`dapr.io/enabled: "true"`), else None;
    `""` for an enabled pod without `dapr.io/app-id`."""
    annotations = pod_annotations(doc)
    if str(annotations.get("dapr.io/enabled", "")).lower() != "true":
        return None
    return str(annotations.get("dapr.io/app-id") or "")


# --- quantities -------------------------------------------------------------------------------------------

_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
           "m": Decimal("0.001"), "": 1}


def quantity(value: Any) -> float:
    """A Kubernetes quantity (`250m`, `1.5`, `512Mi`, `1G`) as a number (cores or bytes); None is 0."""
    if value is None:
        return 0.0
    m = re.fullmatch(r"([0-9.]+(?:e[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?", str(value).strip())
    if not m:
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return float(Decimal(m[1]) * Decimal(_SUFFIX[m[2] or ""]))


# --- volumes ----------------------------------------------------------------------------------------------


class VolumeClaim(NamedTuple):
    """`count` persistent volumes of `size` (a quantity) and StorageClass `storage_class` (None: the cluster's
    default class) that an object asks for; `claim` names the claim (template) they come from."""

    claim: str
    storage_class: str | None
    size: str
    count: int


def _claim_spec(name: str, spec: Mapping[str, Any], count: int) -> VolumeClaim:
    size = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    return VolumeClaim(name, spec.get("storageClassName") or None, str(size or "0"), count)


def _kafka_volumes(storage: Mapping[str, Any], replicas: int) -> list[VolumeClaim]:
    """A Strimzi storage block: one claim per node for `persistent-claim`, one per JBOD volume for `jbod`,
    none for `ephemeral`."""
    if storage.get("type") == "persistent-claim":
        return [VolumeClaim(f"data-{storage.get('id', 0)}", storage.get("class") or None, str(storage.get("size")),
                            replicas)]
    if storage.get("type") == "jbod":
        return [v for volume in storage.get("volumes") or [] for v in _kafka_volumes(volume, replicas)]
    return []


def volume_claims(doc: Mapping[str, Any]) -> list[VolumeClaim]:
    """The persistent volumes an object asks for, at its replicas: a PersistentVolumeClaim (one), a
    StatefulSet's `volumeClaimTemplates` (one per replica each), a Prometheus or Alertmanager's
    `storage.volumeClaimTemplate` (one per replica and shard) and a KafkaNodePool's persistent storage (one
    per node and JBOD volume). Nothing for other kinds or for ephemeral storage."""
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    name = (doc.get("metadata") or {}).get("name", "?")
    if kind == "PersistentVolumeClaim":
        return [_claim_spec(name, spec, 1)]
    if kind == "StatefulSet":
        replicas = int(spec.get("replicas", 1))
        return [_claim_spec((t.get("metadata") or {}).get("name", "?"), t.get("spec") or {}, replicas)
                for t in spec.get("volumeClaimTemplates") or []]
    if kind in ("Prometheus", "Alertmanager") and str(doc.get("apiVersion", "")).startswith("monitoring.coreos.com"):
        template = (spec.get("storage") or {}).get("volumeClaimTemplate")
        if not template:
            return []
        pods = int(spec.get("replicas", 1)) * int(spec.get("shards", 1) if kind == "Prometheus" else 1)
        return [_claim_spec((template.get("metadata") or {}).get("name") or f"{name}-db", template.get("spec") or {},
                            pods)]
    if kind == "KafkaNodePool":
        return _kafka_volumes(spec.get("storage") or {}, int(spec.get("replicas", 0)))
    return []


# --- images -----------------------------------------------------------------------------------------------

# An image reference with a tag or a digest (what an operator setting must hold to count as an image).
IMAGE_REF = re.compile(r"^[a-z0-9][\w.\-/:@]*(:[\w.\-]+|@sha256:[0-9a-f]{64})$")
# An image reference pinned by digest.
DIGESTED = re.compile(r"@sha256:[0-9a-f]{64}$")
# Environment variables through which operators and injectors are told which images to start.
IMAGE_SETTING = re.compile(r"(?:^|_)IMAGES?$")
# The Prometheus operator's flag naming the config reloader it adds to Prometheus and Alertmanager pods.
RELOADER_FLAG = "--prometheus-config-reloader="


def split_image(image: str) -> dict[str, str | None]:
    """registry/repository, tag and digest of an image reference."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else None
    repository = name[: len(name) - len(tag) - 1] if tag else name
    return {"image": image, "repository": repository, "tag": tag, "digest": digest or None}


def image_references(doc: Mapping[str, Any]) -> list[str]:
    """The images an object names for its own pods: containers, the Prometheus operator's config reloader,
    and the image fields of Prometheus, Alertmanager and Kafka resources."""
    images = [c["image"] for c in containers(doc) if isinstance(c.get("image"), str)]
    # the Prometheus operator adds its config reloader to every Prometheus and Alertmanager pod
    images += [str(a).removeprefix(RELOADER_FLAG) for c in containers(doc) for a in c.get("args") or []
               if str(a).startswith(RELOADER_FLAG)]
    spec = doc.get("spec") or {}
    if doc.get("kind") in ("Prometheus", "Alertmanager") and isinstance(spec.get("image"), str):
        images.append(spec["image"])
    if doc.get("kind") == "Kafka" and isinstance((spec.get("kafka") or {}).get("image"), str):
        images.append(spec["kafka"]["image"])
    return images


def image_settings(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(variable, value) of every `*_IMAGE` / `*_IMAGES` environment variable of an object's containers: the
    images operators and injectors start (the Dapr sidecar, Strimzi's Kafka and operator images)."""
    for c in containers(doc):
        for var in c.get("env") or []:
            name = str(var.get("name", ""))
            if IMAGE_SETTING.search(name) and isinstance(var.get("value"), str):
                yield name, var["value"]


def operand_images(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(image, variable) of every image reference in an object's image settings (`A=img B=img` lists
    included): what must be mirrored besides the images the release names itself."""
    return [(ref, name) for name, value in image_settings(doc) for entry in value.split()
            if IMAGE_REF.match(ref := entry.split("=", 1)[-1])]


def kafka_images(kafka: Mapping[str, Any], settings: Mapping[str, str]) -> list[str]:
    """The images Strimzi runs for a Kafka resource: its own `image` fields, else the operator's defaults
    (`settings`: the operator's image settings, variable -> value)."""
    spec = kafka.get("spec") or {}
    by_version = dict(e.split("=", 1) for e in settings.get("STRIMZI_KAFKA_IMAGES", "").split() if "=" in e)
    version = str((spec.get("kafka") or {}).get("version", ""))
    found = [(spec.get("kafka") or {}).get("image") or by_version.get(version)]
    for part, default in (("cruiseControl", "STRIMZI_DEFAULT_CRUISE_CONTROL_IMAGE"),
                          ("kafkaExporter", "STRIMZI_DEFAULT_KAFKA_EXPORTER_IMAGE")):
        if part in spec:
            found.append((spec[part] or {}).get("image") or settings.get(default))
    return [i for i in found if i]


def all_image_settings(docs: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Variable -> value of the image settings of every object (see `image_settings`)."""
    return {name: value for doc in docs for name, value in image_settings(doc)}
