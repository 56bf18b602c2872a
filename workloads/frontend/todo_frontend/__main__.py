"""`python -m todo_frontend`: serve the frontend stand-in on PORT (default 3000)."""

from __future__ import annotations

import logging
import sys

from todo_workload import logs
from todo_workload.dapr import Sidecar
from todo_workload.settings import ConfigError, env_str
from todo_workload.web import serve


def main() -> int:
    logs.configure("frontend", env_str("LOG_LEVEL", "info"))
    try:
        sidecar = Sidecar.from_env()
    except ConfigError as exc:
        logging.getLogger("todo_frontend").error("bad configuration: %s", exc)
        return 2
    from todo_frontend.app import create_app

    serve(create_app(sidecar, env_str("BACKEND_APP_ID", "backend")), default_port=3000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
