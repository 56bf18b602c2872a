"""What the reference workloads share: settings and mounted Secret files, JSON logs, the Dapr sidecar's HTTP
API, an access log with trace context, and the uvicorn runner with graceful shutdown. Copied into every
image (the images are built with `workloads/` as the build context)."""
