"""A TCP proxy between SQLAlchemy and a database server that can lose a COMMIT's reply.

Armed, it forwards the client's COMMIT to the server, waits for the server's answer (so the
transaction did commit), swallows it and drops both sides of the connection: the client sees the
connection die during COMMIT although the work landed. It recognises the COMMIT of PostgreSQL (a
simple ``Query`` or an extended ``Parse`` message whose text is ``COMMIT``) and of MySQL/MariaDB
(a ``COM_QUERY`` packet ``COMMIT``), which is what psycopg and pymysql send on ``commit()``.
``trigger`` may name another statement (e.g. ``INSERT``) to drop the connection on instead, before
the server sees it. Standard library only.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from typing import Self

# PostgreSQL: 'Q' int32 "COMMIT\0"; 'P' int32 name\0 "COMMIT\0". MySQL: 3-byte length, sequence
# 0, COM_QUERY (0x03), "COMMIT".
_COMMIT = re.compile(rb"(?:Q....|P....[^\x00]*\x00)COMMIT\x00|\x07\x00\x00\x00\x03COMMIT", re.S)


class CommitDropProxy:
    """Listens on 127.0.0.1; each client connection is forwarded to ``upstream``."""

    def __init__(self, host: str, port: int, *, trigger: re.Pattern[bytes] = _COMMIT) -> None:
        self._upstream = (host, port)
        self._trigger = trigger
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.armed = threading.Event()  # drop the next connection that sends the trigger
        self.dropped = threading.Event()  # set once a connection was dropped
        self.seen: list[bytes] = []  # the client bytes that triggered a drop
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop listening and drop every open connection."""
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                _drop(s)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            server = socket.create_connection(self._upstream)
            with self._lock:
                self._sockets += [client, server]
            swallow = threading.Event()  # the server's next answer is to be lost
            threading.Thread(
                target=self._client_to_server, args=(client, server, swallow), daemon=True
            ).start()
            threading.Thread(
                target=self._server_to_client, args=(server, client, swallow), daemon=True
            ).start()

    def _client_to_server(
        self, client: socket.socket, server: socket.socket, swallow: threading.Event
    ) -> None:
        while chunk := _recv(client):
            if self.armed.is_set() and self._trigger.search(chunk):
                self.armed.clear()
                self.seen.append(chunk)
                if self._trigger is _COMMIT:
                    swallow.set()  # forwarded: the server commits; its answer is dropped
                    _send(server, chunk)
                    continue
                self._drop_both(client, server)  # before the server sees the statement
                return
            if not _send(server, chunk):
                break
        _drop(server)

    def _server_to_client(
        self, server: socket.socket, client: socket.socket, swallow: threading.Event
    ) -> None:
        while chunk := _recv(server):
            if swallow.is_set():
                self._drop_both(client, server)
                return
            if not _send(client, chunk):
                break
        _drop(client)

    def _drop_both(self, client: socket.socket, server: socket.socket) -> None:
        self.dropped.set()  # before the client can see the connection die
        _drop(client)
        _drop(server)


def _recv(s: socket.socket) -> bytes:
    try:
        return s.recv(65536)
    except OSError:
        return b""


def _send(s: socket.socket, data: bytes) -> bool:
    try:
        s.sendall(data)
    except OSError:
        return False
    return True


def _drop(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    s.close()
