"""The runtime harness: real upstream processes (Kafka, PostgreSQL, daprd, Prometheus, Jaeger) on 127.0.0.1,
configured from an environment's rendered objects. What to start and with which configuration is a pure
function of the rendered objects; starting it goes through `todo_cloud.processes.Supervisor`."""
