"""`todo-cloud smoke` against the simulated cluster: what can run there passes, the rest skips saying why."""

from __future__ import annotations

from tests.cluster.support import Deployment, cli


def test_the_smoke_command_runs_the_simulation_capable_checks(deployment: Deployment) -> None:
    got = cli("smoke", "--env", deployment.env.name, "--kubeconfig", deployment.cluster.kubeconfig, timeout=300)
    assert got.returncode == 0, got.output[-3000:]
    assert "1 passed" in got.output, got.output[-3000:]
    assert "the simulated cluster runs no containers (KWOK fakes pods)" in got.output
    assert "failed" not in got.output.splitlines()[-1]
