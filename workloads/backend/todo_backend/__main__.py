"""`python -m todo_backend`: serve the backend on PORT (default 8000)."""

from __future__ import annotations

import logging
import sys

from todo_backend.config import Settings
from todo_workload import logs
from todo_workload.dapr import Sidecar
from todo_workload.settings import ConfigError, env_str
from todo_workload.web import serve


def main() -> int:
    logs.configure("backend", env_str("LOG_LEVEL", "info"))
    try:
        settings = Settings.from_env()
        sidecar = Sidecar.from_env()
    except ConfigError as exc:
        logging.getLogger("todo_backend").error("bad configuration: %s", exc)
        return 2
    from todo_backend.app import create_app  # after the settings: bad configuration fails fast

    serve(create_app(settings, sidecar), default_port=8000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
