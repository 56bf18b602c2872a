"""`todo-cloud deploy` end to end up to the cluster: the real runner with the pinned kubectl, a kubeconfig
given by --kubeconfig or KUBECONFIG, and refusals before anything changes (no API server needed: the
refusals happen on the kubeconfig alone)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from todo_cloud import envs
from todo_cloud.cli import main
from todo_cloud.deploy.images import ImageError, image_values
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


# --- --image ------------------------------------------------------------------------------------------------

SHA = "sha256:" + "b" * 64


@pytest.mark.parametrize("ref", [SHA, f"registry.digitalocean.com/todo-chatbot/todo-chatbot-backend@{SHA}"])
def test_image_digests_become_the_app_components_digest(ref):
    assert image_values(envs.get("production"), [f"backend={ref}"]) == {
        "app": {"components": {"backend": {"image": {"digest": SHA}}}}}


def test_image_tags_are_fine_outside_production():
    assert image_values(envs.get("staging"), ["frontend=0.4.1"]) == {
        "app": {"components": {"frontend": {"image": {"tag": "0.4.1"}}}}}


@pytest.mark.parametrize(("env", "arg", "message"), [
    ("production", "backend=0.4.1", "environment 'production' deploys images by digest only"),
    ("production", "backend=registry.digitalocean.com/x/backend:0.4.1", "by digest only"),
    ("staging", "backend=sha256:abc", "neither a sha256 digest nor a tag"),
    ("staging", "backend", "expected COMPONENT=DIGEST"),
    ("staging", "Backend=0.4.1", "expected COMPONENT=DIGEST"),
])
def test_bad_images_are_refused_naming_the_argument(env, arg, message):
    with pytest.raises(ImageError, match=re.escape(f"--image {arg}: ")) as info:
        image_values(envs.get(env), [arg])
    assert message in str(info.value)


def test_production_deploy_with_an_image_by_tag_stops_before_rendering_or_the_cluster(capsys):
    assert main(["deploy", "--env", "production", "--image", "backend=0.4.1"]) == 2
    assert "--image backend=0.4.1: environment 'production' deploys images by digest only" in capsys.readouterr().err


def test_tool_runner_turns_a_hung_command_into_a_failed_result(monkeypatch):
    import subprocess

    from todo_cloud.deploy import runner

    def hang(cmd, **kw):
        raise subprocess.TimeoutExpired(cmd, kw.get("timeout"))

    monkeypatch.setattr(runner, "run", hang)
    got = ToolRunner()(["helm", "test", "todo-chatbot"], timeout=60)
    assert got.returncode == 124 and "helm test: no answer within 60 s" in got.stderr


def test_deploy_of_values_that_do_not_render_is_refused_with_helms_message(upstream_charts, tmp_path, capsys):
    del upstream_charts
    bad = tmp_path / "bad.yaml"
    bad.write_text("app:\n  no-such-key: true\n")
    assert main(["deploy", "--env", "local", "--values", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "the release of local does not render, nothing was changed" in err and "no-such-key" in err
