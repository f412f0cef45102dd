"""A recording HTTP gateway on loopback that checks each request's HMAC signature, and the
library's ``WebhookNotifier`` POSTing to it (the worker loads ``http_notifier`` by its
``--notifier`` import spec; the gateway's URL comes from ``QD_TEST_GATEWAY_URL``)."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from qiandao_adapters.channels import WebhookNotifier, verify_signature

GATEWAY_VARIABLE = "QD_TEST_GATEWAY_URL"


SECRET = b"soak-shared-secret"


def http_notifier() -> WebhookNotifier:
    """The worker's ``--notifier tests.sql.outbox_gateway:http_notifier``: the library's own
    webhook notifier (HMAC-signed, the notice id as its idempotency header)."""
    return WebhookNotifier(os.environ[GATEWAY_VARIABLE], secret=SECRET, timeout=5.0)


def worker_command(url: str, *options: str) -> list[str]:
    """``python -m qiandao worker`` on ``url``, sending into the gateway of the environment."""
    notifier = f"{__name__}:http_notifier"
    return [
        sys.executable,
        "-m",
        "qiandao",
        "worker",
        "--url",
        url,
        "--notifier",
        notifier,
        *options,
    ]


class Gateway:
    """An HTTP server in the test process that counts every notice id it receives."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.fail = False  # answer 503 to every request while set
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                payload = json.loads(body)
                signed = verify_signature(
                    SECRET,
                    self.headers.get("X-Qiandao-Timestamp", ""),
                    body,
                    self.headers.get("X-Qiandao-Signature", ""),
                    now=datetime.now(UTC),
                )
                if gateway.fail or not signed:  # an unsigned notice is refused (and retried)
                    self.send_response(503 if signed else 401)
                else:
                    with gateway.lock:
                        gateway.received[payload["id"]] += 1
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/notify"

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.received)
