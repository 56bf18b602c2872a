"""The reference backend: todos in PostgreSQL, events through Dapr pub/sub, preferences in the Dapr state
store, Prometheus metrics. The contract with the chart is workloads/README.md."""
