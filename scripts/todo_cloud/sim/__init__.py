"""The simulated cluster: a real control plane with KWOK nodes, on loopback (`todo-cloud sim`, the cluster tests).

- `cluster`: the binaries, the ports, the processes (`Cluster`) and `running(env)`, the tests' context manager;
- `objects`: fake Nodes shaped like the environment's node pool, storage, stand-in CRDs, the kwok Stage;
- `pki`: certificates and kubeconfigs;
- `lifecycle`: `sim up` / `sim down` for a person's cluster that outlives the command.
"""
