"""A recording HTTP gateway on loopback and a minimal notifier that POSTs to it (test-local: the
worker loads ``http_notifier`` by its ``--notifier`` import spec; the gateway's URL comes from
``QD_TEST_GATEWAY_URL``)."""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from qiandao.ports.notify import Notice

GATEWAY_VARIABLE = "QD_TEST_GATEWAY_URL"


class HttpNotifier:
    """POSTs each notice's id and kind as JSON; anything but a 2xx reply is a failed send."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        body = json.dumps({"id": notice.id, "kind": notice.kind}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as reply:
            reply.read()


def http_notifier() -> HttpNotifier:
    """The worker's ``--notifier tests.sql.outbox_gateway:http_notifier``."""
    return HttpNotifier(os.environ[GATEWAY_VARIABLE])


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
                payload = json.loads(self.rfile.read(length))
                if gateway.fail:
                    self.send_response(503)
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
