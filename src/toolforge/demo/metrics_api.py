"""Acme Freight's (fictional) metrics API: a real local HTTP server whose answers use the
company's own AFM1 encoding, `AFM1.<base64url JSON without padding>`."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

METRICS: dict[str, dict[str, Any]] = {
    "checkout": {"service": "checkout", "p50_ms": 88.0, "p95_ms": 412.5, "error_rate": 0.012},
    "tracking": {"service": "tracking", "p50_ms": 41.0, "p95_ms": 190.0, "error_rate": 0.034},
    "billing": {"service": "billing", "p50_ms": 120.5, "p95_ms": 640.0, "error_rate": 0.002},
}


def encode(data: dict[str, Any]) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return f"AFM1.{raw}"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlparse(self.path)
        service = parse_qs(url.query).get("service", [""])[0]
        if url.path != "/v1/metrics" or service not in METRICS:
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b"unknown service")
            return
        body = encode(METRICS[service]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-afm1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep the demo's output clean
        pass


class MetricsAPI:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> MetricsAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
