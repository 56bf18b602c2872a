"""`python -m todo_analytics`: serve the analytics consumer on PORT (default 8000)."""

from __future__ import annotations

import sys

from todo_analytics.app import create_app
from todo_workload import logs
from todo_workload.settings import env_str
from todo_workload.web import serve


def main() -> int:
    logs.configure("analytics", env_str("LOG_LEVEL", "info"))
    serve(create_app(), default_port=8000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
