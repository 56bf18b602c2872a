"""Recorded command sequences for the deploy tests: a fake runner with canned cluster answers, small releases.

"Recorded command sequences": the deploy runs against `FakeRunner`, which answers each helm/kubectl
command from canned outputs and records every command in order, so the tests assert on the exact
sequence the deploy would send to a cluster. The same deploy runs against a real API server through
`ToolRunner` and a kubeconfig (issue 9's simulated cluster).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from todo_cloud import envs
from todo_cloud.deploy.runner import Result
from todo_cloud.render import Manifest

# Commands that change a cluster; everything else the deploy sends only reads.
MUTATING = (("kubectl", "apply"), ("helm", "upgrade"), ("helm", "rollback"), ("helm", "test"),
            ("helm", "install"), ("helm", "uninstall"), ("kubectl", "create"), ("kubectl", "delete"))
OURS = {"platform", "app"}
CRD_BUNDLE = "---\n# Source: test.tgz!test/crds/a.yaml\nkind: CustomResourceDefinition\n"


@dataclass
class FakeRunner:
    """Answers commands by the longest matching argv prefix; a list of answers is used up in order
    (the last one repeats). Unmatched commands succeed with no output. Records every command."""

    answers: dict[tuple[str, ...], Result | list[Result]] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    inputs: list[str | None] = field(default_factory=list)

    def __call__(self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None) -> Result:
        argv = tuple(argv)
        self.calls.append(argv)
        self.inputs.append(input)
        keys = [k for k in self.answers if argv[: len(k)] == k]
        if not keys:
            return Result(0)
        key = max(keys, key=len)
        answer = self.answers[key]
        if isinstance(answer, list):
            return answer.pop(0) if len(answer) > 1 else answer[0]
        return answer

    def heads(self) -> list[str]:
        """Each command by its words before the first flag (helm: tool, verb, release), for sequences."""
        out = []
        for argv in self.calls:
            words = [*argv[: next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))]]
            out.append(" ".join(words[:3] if words[0] == "helm" else words))
        return out

    def mutations(self) -> list[tuple[str, ...]]:
        return [c for c in self.calls if c[:2] in MUTATING]


def history(*revisions: tuple[int, str]) -> Result:
    """`helm history -o json` output for (revision, status) pairs."""
    return Result(0, json.dumps([{"revision": r, "status": s, "chart": "todo-chatbot-cloud-0.1.0",
                                  "app_version": "0.1.0", "description": f"{s} {r}"} for r, s in revisions]))


NO_RELEASE = Result(1, "", "Error: release: not found")


def cluster(env: envs.Environment, *, context: str | None = None, secrets: Sequence[str] = (),
            revisions: Result | list[Result] = NO_RELEASE, apis: Sequence[str] = ("apps/v1", "batch/v1"),
            ) -> dict[tuple[str, ...], Result | list[Result]]:
    """Canned answers of a cluster: current context (default: the environment's), Secrets of the
    release namespace, release history, the API group/versions it serves."""
    ctx = env.kube_context if context is None else context
    return {
        ("kubectl", "config", "current-context"):
            Result(0, f"{ctx}\n") if ctx else Result(1, "", "error: current-context is not set"),
        ("kubectl", "get", "secrets"): Result(0, "".join(f"secret/{s}\n" for s in secrets)),
        ("helm", "history"): revisions,
        ("kubectl", "get", "--raw", "/apis"): Result(0, json.dumps({"kind": "APIGroupList", "groups": [
            {"name": g.split("/")[0], "versions": [{"groupVersion": g, "version": g.split("/")[1]}]}
            for g in apis]})),
    }


def obj(kind: str, name: str, chart: str = "platform-0.1.0", **spec: object) -> Manifest:
    """A rendered object labelled as coming from `chart`."""
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": name, "namespace": "todo-chatbot", "labels": {"helm.sh/chart": chart}},
            "spec": dict(spec)}


def pod(*images: str, pull_secret: str | None = None, env_secret: str | None = None) -> dict:
    containers = [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]
    if env_secret:
        containers[0]["env"] = [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": env_secret, "key": "url"}}}]
    spec: dict = {"containers": containers}
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    return {"template": {"spec": spec}}


DIGEST = "@sha256:" + "a" * 64


# The upstream images of the small release, pinned by digest as production's values pin them.
UPSTREAM_PINNED = "@sha256:" + "b" * 64


def small_release(image: str = "registry.digitalocean.com/todo-chatbot/backend" + DIGEST,
                  upstream_pin: str = UPSTREAM_PINNED) -> list[Manifest]:
    """A release in miniature: the Dapr injector (upstream), our backend with a pull and an env Secret,
    an upstream StatefulSet with OnDelete, and a test hook; the upstream images carry `upstream_pin` (a digest
    as production pins them, or "" for the charts' own tags)."""
    return [
        obj("Deployment", "dapr-sidecar-injector", "dapr-1.18.3", **pod("daprio/injector:1.18.3" + upstream_pin)),
        obj("Deployment", "todo-chatbot-backend", "app-0.1.0",
            **pod(image, pull_secret="todo-chatbot-registry", env_secret="todo-chatbot-db")),
        obj("StatefulSet", "todo-chatbot-loki", "loki-18.11.0", **pod("grafana/loki:3" + upstream_pin)),
        obj("StatefulSet", "legacy", "loki-18.11.0", updateStrategy={"type": "OnDelete"}, **pod("x:1" + upstream_pin)),
        {**obj("Deployment", "hooked", "app-0.1.0"),
         "metadata": {"name": "hooked", "annotations": {"helm.sh/hook": "test"},
                      "labels": {"helm.sh/chart": "app-0.1.0"}}},
    ]


SECRETS = ("todo-chatbot-registry", "todo-chatbot-db")


