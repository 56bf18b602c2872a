"""`todo-cloud deploy` end to end up to the cluster: the real runner with the pinned kubectl, a kubeconfig
given by --kubeconfig or KUBECONFIG, and refusals before anything changes (no API server needed: the
refusals happen on the kubeconfig alone)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from todo_cloud import envs
from todo_cloud.cli import main
from todo_cloud.deploy.runner import ToolRunner


def kubeconfig(path: Path, current: str) -> Path:
    """A kubeconfig with every environment's context (servers on loopback, never contacted)."""
    contexts = [e.kube_context for e in envs.all_environments().values()]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": c, "cluster": {"server": "https://127.0.0.1:1"}} for c in contexts],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": c, "context": {"cluster": c, "user": "u"}} for c in contexts],
    }))
    return path


def test_tool_runner_reads_the_given_kubeconfig(tmp_path: Path):
    config = kubeconfig(tmp_path / "config", "kind-todo-chatbot")
    got = ToolRunner(config)(["kubectl", "config", "current-context"])
    assert got.ok and got.stdout.strip() == "kind-todo-chatbot"


def test_tool_runner_runs_only_helm_and_kubectl():
    with pytest.raises(ValueError, match="helm, kubectl"):
        ToolRunner()(["sh", "-c", "true"])


def test_deploy_to_the_context_of_another_environment_is_refused(upstream_charts, tmp_path, capsys):
    del upstream_charts
    config = kubeconfig(tmp_path / "config", envs.get("staging").kube_context)
    assert main(["deploy", "--env", "production", "--kubeconfig", str(config)]) == 2
    out = capsys.readouterr().out
    assert "refused, nothing was changed" in out
    assert "'do-nyc3-todo-chatbot-staging', the context of environment 'staging'" in out
    assert "'do-nyc3-todo-chatbot-production'" in out


def test_deploy_reads_kubeconfig_from_the_environment(upstream_charts, tmp_path, capsys, monkeypatch):
    del upstream_charts
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "config", "kind-todo-chatbot")))
    assert main(["deploy", "--env", "staging", "--dry-run"]) == 2
    assert "current context is 'kind-todo-chatbot', the context of environment 'local'" in capsys.readouterr().out


def test_deploy_of_an_unknown_environment_names_the_valid_ones(capsys):
    assert main(["deploy", "--env", "qa"]) == 2
    assert "unknown environment 'qa'; valid environments: local, staging, production" in capsys.readouterr().err


def test_deploy_with_a_missing_values_file_names_it(tmp_path, capsys):
    missing = tmp_path / "digests.yaml"
    assert main(["deploy", "--env", "staging", "--values", str(missing)]) == 2
    assert f"--values {missing}: no such file" in capsys.readouterr().err


def test_deploy_with_a_bad_timeout_names_the_flag(capsys):
    assert main(["deploy", "--env", "staging", "--timeout", "soon"]) == 2
    assert "--timeout: 'soon' is not a duration" in capsys.readouterr().err
