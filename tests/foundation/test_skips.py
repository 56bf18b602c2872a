"""Skips are for what this kind of machine cannot have, never for a prerequisite it can build or fetch (those are
required through tests/conftest.py and fail when missing). Every place a test can skip is listed here with why
that is legitimate; a new one fails this test until it is added, with its reason, or turned into a requirement."""

from __future__ import annotations

import re
from pathlib import Path

from todo_cloud.paths import REPO

TESTS = REPO / "tests"
SKIP = re.compile(r"pytest\.skip\(|pytest\.importorskip\(|mark\.skipif\(|mark\.skip\(")

# test file -> (number of places that skip, why each is legitimate)
LEGITIMATE: dict[str, tuple[int, str]] = {
    "tests/smoke/conftest.py": (2, "no running environment is named, or its cluster (kind: Docker; DOKS: "
                                   "DigitalOcean) is not reachable"),
    "tests/smoke/support.py": (1, "the simulated cluster runs no container (images, probes, Kafka, the Dapr "
                                  "sidecar): those checks need kind, i.e. Docker"),
    "tests/terraform/test_tofu.py": (1, "the DigitalOcean Terraform provider: the Go module proxy answers 403 for "
                                        "every recent version (versions.toml [go_builds.terraform-provider-"
                                        "digitalocean]); TODO_CLOUD_DO_PROVIDER takes one built elsewhere"),
    "tests/workloads/test_service_lifecycle.py": (1, "switching to the chart's UID needs root, which a machine "
                                                     "running the suite as another user does not have"),
    "tests/foundation/test_cli.py": (1, "the reverse case: where Docker and kind are present, `make up` would "
                                        "create a real cluster"),
    "tests/foundation/test_toolchain.py": (1, "helm/kubectl taken from PATH at the pinned version (a machine "
                                              "that provides them): there is no pinned download to hash"),
    "tests/cluster/test_upgrade_rollback_uninstall.py": (1, "only when a person narrows the drills with "
                                                            "TODO_CLOUD_SIM_LIFECYCLE; `make test` runs them all"),
}


def skip_sites() -> dict[str, int]:
    found: dict[str, int] = {}
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__):
            continue
        count = len(SKIP.findall(path.read_text()))
        if count:
            found[path.relative_to(REPO).as_posix()] = count
    return found


def test_every_place_a_test_can_skip_is_one_this_machine_kind_cannot_avoid() -> None:
    assert skip_sites() == {path: count for path, (count, _) in LEGITIMATE.items()}


def test_every_legitimate_skip_says_why() -> None:
    assert all(len(why) > 40 for _, why in LEGITIMATE.values())
