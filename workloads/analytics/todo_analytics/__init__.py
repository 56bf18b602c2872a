"""The reference analytics consumer: events delivered by Dapr pub/sub, counted per type; a poison event fails
on purpose so that retries and the dead-letter route can be observed. Contract: workloads/README.md."""
