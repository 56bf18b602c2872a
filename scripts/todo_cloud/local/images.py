"""The app images of the local environment: which make up builds from workloads/, and which it loads into kind.

The release rendered for `local` names its app images under the registry of values/local.yaml (`kind.local`):
images that only `kind load docker-image` provides, never pulled. Each belongs to app components (the
`app.kubernetes.io/component` label of the pods that run it: the app chart's component key, which the
workload contract makes the folder under workloads/). An image whose component is a workload with a
Dockerfile is built from it (todo_cloud.workloads), tagged as the release names it; any other image must be
in the local Docker already (a real chatbot image, built by hand).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from todo_cloud import workloads
from todo_cloud.manifests import Manifest, containers, object_id, pod_labels

COMPONENT_LABEL = "app.kubernetes.io/component"


class ImageError(ValueError):
    """An app image make up cannot tell how to build; the message names it and the objects that run it."""


@dataclass(frozen=True)
class Build:
    """One image built from a workload of workloads/."""

    image: str
    workload: str

    @property
    def argv(self) -> list[str]:
        return workloads.build_argv(self.workload, self.image)


@dataclass(frozen=True)
class LocalImages:
    """The release's local images: those built from workloads/, and those that must be in Docker already."""

    builds: tuple[Build, ...] = ()
    prebuilt: tuple[str, ...] = ()

    @property
    def images(self) -> list[str]:
        """Every local image, sorted: what `kind load docker-image` loads."""
        return sorted({b.image for b in self.builds} | set(self.prebuilt))


def local_images(manifests: Iterable[Manifest], registry: str,
                 workload_names: Iterable[str] | None = None) -> LocalImages:
    """The images of the release from `registry`, each with the workload that builds it when one does
    (`workload_names`: the workloads with a Dockerfile, by default those of workloads/)."""
    known = set(workloads.names() if workload_names is None else workload_names)
    users: dict[str, set[str]] = {}
    components: dict[str, set[str]] = {}
    for doc in manifests:
        for container in containers(doc):
            image = container.get("image")
            if not isinstance(image, str) or not image.startswith(f"{registry}/"):
                continue
            users.setdefault(image, set()).add(object_id(doc))
            component = pod_labels(doc).get(COMPONENT_LABEL)
            if component in known:
                components.setdefault(image, set()).add(str(component))
    builds, prebuilt = [], []
    for image in sorted(users):
        found = sorted(components.get(image, ()))
        if len(found) > 1:
            raise ImageError(f"the image {image} is run by the components {', '.join(found)} "
                             f"({', '.join(sorted(users[image]))}): one workload image cannot be built for two")
        if found:
            builds.append(Build(image, found[0]))
        else:
            prebuilt.append(image)
    return LocalImages(tuple(builds), tuple(prebuilt))


def missing_images_message(missing: list[str]) -> str:
    """One line: which image(s) no workload builds and the local Docker lacks, and what to do."""
    where = f"no folder of workloads/ ({', '.join(workloads.names())}) builds"
    if len(missing) == 1:
        return (f"the image {missing[0]} is not in the local Docker and {where} it: build and tag it from the app's "
                f"source (`docker build -t {missing[0]} <its source folder>`), then run make up again")
    return (f"the images {', '.join(missing)} are not in the local Docker and {where} them: build and tag each "
            f"from its app's source (`docker build -t <image> <its source folder>`), then run make up again")
