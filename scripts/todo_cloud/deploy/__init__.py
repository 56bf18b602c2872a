"""The deploy of one environment, split so that every decision is testable without a cluster.

- `runner`: the one interface to the cluster (helm and kubectl argv in, exit code and output back);
  the real runner goes through `todo_cloud.run.run` with the pinned binaries and a kubeconfig.
- `state`: read-only observation of the cluster (current context, Secrets, release history).
- `secrets`, `crds`: facts derived from the rendered release and the pinned chart archives.
- `preflight`: refusals, decided from (environment, cluster state, rendered release) alone.
- `plan`: (environment, cluster state, rendered release) -> the ordered steps of the phased install.
- `execute`: runs a plan through a runner; a failed health check rolls back to the last good revision.
"""
