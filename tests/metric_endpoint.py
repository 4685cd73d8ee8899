"""A real metric endpoint on loopback: ``{"signups": <value>}``, the value a test moves, and how
often Andon read it — what the built-in checks poll in the tests that page on a metric. With
``by_path``, the value depends on the path asked (one host's copy of the metric) and each answer
is kept in ``served``."""

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class MetricEndpoint:
    def __init__(self, value: float = 20) -> None:
        self.value = value
        self.reads = 0
        self.by_path: Callable[[str], float] | None = None
        self.served: list[tuple[str, float]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.reads += 1
                value = endpoint.value if endpoint.by_path is None else endpoint.by_path(self.path)
                endpoint.served.append((self.path, value))
                body = json.dumps({"signups": value}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/metrics.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
