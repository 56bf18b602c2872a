"""The frontend stand-in (the real frontend is Next.js): its health and metrics routes, and a page that reads
the backend through Dapr service invocation. Contract: workloads/README.md."""
