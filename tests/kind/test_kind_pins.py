"""versions.toml [kind] and [go_tools.kind]: well-formed pins, and (through the Go module proxy, which the
suite needs as every Go build does) the upstream facts they were taken from."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from todo_cloud import versions, yamlfile
from todo_cloud.local import checks
from todo_cloud.local.checks import Pins
from todo_cloud.paths import CONFIG
from todo_cloud.run import run

PINS = Pins.load()
SEMVER_TAG = r"v\d+\.\d+\.\d+"


def test_the_node_image_is_a_kindest_node_release_by_digest() -> None:
    assert re.fullmatch(rf"kindest/node:{SEMVER_TAG}@sha256:[0-9a-f]{{64}}", PINS.node_image), PINS.node_image


def test_kind_is_a_go_tool_pinned_to_a_release() -> None:
    assert PINS.kind_module == "sigs.k8s.io/kind"
    assert re.fullmatch(SEMVER_TAG, PINS.kind_version)


def test_envoy_gateway_chart_version_is_its_release_tag() -> None:
    g = PINS.gateway
    assert g["chart"] == "oci://docker.io/envoyproxy/gateway-helm"
    # A release of github.com/envoyproxy/gateway (that it exists: test_the_envoy_gateway_release_exists_...).
    assert re.fullmatch(SEMVER_TAG, g["version"]) and g["go_module"] == "github.com/envoyproxy/gateway"
    assert (g["namespace"], g["gateway_class"], g["controller_name"]) == (
        "envoy-gateway-system", "eg", "gateway.envoyproxy.io/gatewayclass-controller")


def test_the_gateway_namespace_is_the_one_the_app_network_policy_admits() -> None:
    from todo_cloud import envs

    values = yamlfile.load(envs.get("local").values_file)
    peers = values["app"]["networkPolicy"]["gatewayPeers"]
    assert {"kubernetes.io/metadata.name": PINS.gateway["namespace"]} in [
        p["namespaceSelector"]["matchLabels"] for p in peers]


def test_postgres_is_pinned_to_an_exact_release_on_the_kind_network() -> None:
    pg = PINS.postgres
    assert re.fullmatch(r"postgres:\d+\.\d+(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?", pg["image"]), pg["image"]
    assert (pg["network"], pg["port"], pg["database"]) == ("kind", 5432, "todo")


def test_the_kind_config_names_the_cluster_make_up_creates() -> None:
    config = yamlfile.load(CONFIG / "kind.yaml")
    assert config["name"] == checks.CLUSTER
    assert not [n for n in config["nodes"] if "image" in n], "the node image comes from versions.toml [kind]"


# --- against the Go module proxy ----------------------------------------------------------------------


def go(*args: str) -> dict[str, Any]:
    """The JSON a `go` command prints; the test fails with go's reason where the module proxy will not answer
    (Go and the proxy are prerequisites of the suite, as for every Go build)."""
    binary = shutil.which("go")
    assert binary, "no Go toolchain on PATH to read the pinned modules"
    proc = run([binary, *args], check=False, timeout=300)
    assert proc.returncode == 0, f"go {' '.join(args)}: {' '.join((proc.stderr or proc.stdout).split())[:400]}"
    return json.loads(proc.stdout)


def test_the_node_image_is_the_default_of_the_pinned_kind() -> None:
    info = go("mod", "download", "-json", f"{PINS.kind_module}@{PINS.kind_version}")
    source = (Path(info["Dir"]) / "pkg/apis/config/defaults/image.go").read_text()
    assert f'const Image = "{PINS.node_image}"' in source


def test_the_envoy_gateway_release_exists_and_speaks_the_pinned_gateway_api_minor() -> None:
    g = PINS.gateway
    info = go("list", "-m", "-json", f"{g['go_module']}@{g['version']}")
    assert info["Version"] == g["version"]
    required = re.search(r"sigs\.k8s\.io/gateway-api (v\d+\.\d+)\.", Path(info["GoMod"]).read_text())
    assert required, "Envoy Gateway's go.mod names no Gateway API version"
    pinned = versions.load()["external_crds"]["gateway-api"]["version"]
    assert pinned.startswith(required.group(1) + "."), (required.group(1), pinned)
