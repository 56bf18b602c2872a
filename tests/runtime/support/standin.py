"""A tiny HTTP app on loopback standing in for one Dapr app in the daprd tests (not the reference workloads:
those come with the end-to-end event tests). It records every request it receives, answers the health
paths its workload's annotations name, `/fail` with 500 and anything else with 200."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from todo_cloud.processes import LOOPBACK

FAIL = "/fail"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class StandIn:
    app_id: str
    port: int = 0
    received: list[Received] = field(default_factory=list)

    def calls(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@contextmanager
def serve(app_id: str) -> Iterator[StandIn]:
    """Serve a stand-in for `app_id` on a free loopback port until the block ends."""
    app = StandIn(app_id)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with lock:
                app.received.append(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
            status = 500 if self.path == FAIL else 200
            body = f"{app.app_id} {self.command} {self.path}".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
    app.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name=f"standin-{app_id}", daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
