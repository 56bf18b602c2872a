"""Project checks of todo-chatbot-cloud for checkov's Kubernetes framework (loaded through
`external-checks-dir` in .checkov.yaml; run by `todo-cloud policy`)."""
