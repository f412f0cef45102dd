"""Loopback servers for the channel tests: a recording HTTP gateway and a recording SMTP server
(aiosmtpd), optionally with TLS from a certificate made for 127.0.0.1 on the spot."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from qiandao_adapters.channels import verify_signature

SECRET = b"shared-secret-\xe4\xb8\x80"
HEADERS = ("X-Qiandao-Timestamp", "X-Qiandao-Signature", "Idempotency-Key")


@attrs.frozen
class Request:
    """One POST the gateway received, and whether its signature verified."""

    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.define
class Gateway:
    """A recording HTTP gateway on loopback: answers ``status`` (after ``delay`` seconds), or
    redirects when ``redirect_to`` is set; checks each request's signature with ``SECRET``."""

    url: str
    requests: list[Request] = attrs.field(factory=list)
    status: int = 200
    answer: bytes = b'{"ok":true}'
    delay: float = 0.0
    redirect_to: str | None = None
    lock: threading.Lock = attrs.field(factory=threading.Lock)


@contextmanager
def gateway(tls: tuple[Path, Path] | None = None) -> Iterator[Gateway]:
    """Run a :class:`Gateway` for the length of the block (over HTTPS with ``tls``)."""
    box: list[Gateway] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            gw = box[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            stamp, signature = (self.headers.get(h, "") for h in HEADERS[:2])
            now = dt.datetime.fromtimestamp(int(stamp or 0), dt.UTC)
            with gw.lock:
                gw.requests.append(
                    Request(
                        self.path,
                        dict(self.headers.items()),
                        body,
                        verify_signature(SECRET, stamp, body, signature, now=now),
                    )
                )
            if gw.delay:
                time.sleep(gw.delay)
            if gw.redirect_to:
                self.send_response(302)
                self.send_header("Location", gw.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(gw.status)
            self.send_header("Content-Length", str(len(gw.answer)))
            self.end_headers()
            self.wfile.write(gw.answer)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    box.append(Gateway(f"{scheme}://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A loopback port nobody listens on (just now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@attrs.frozen
class Mail:
    """One message the SMTP server took: envelope and the parsed message."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    raw: bytes


class _Recorder:
    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("refused"):  # a mailbox the server does not take
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.mails.append(
                Mail(
                    envelope.mail_from or "",
                    tuple(envelope.rcpt_tos),
                    parsed,
                    envelope.original_content or b"",
                )
            )
        return "250 OK"


@attrs.define
class MailServer:
    """A running recording SMTP server."""

    port: int
    recorder: _Recorder

    @property
    def mails(self) -> list[Mail]:
        with self.recorder.lock:
            return list(self.recorder.mails)


def _authenticator(login: str, password: str) -> Any:
    def check(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == login
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def mail_server(
    *,
    tls: tuple[Path, Path] | None = None,
    implicit_tls: bool = False,
    login: tuple[str, str] | None = None,
) -> Iterator[MailServer]:
    """Run a recording SMTP server on loopback: plain, STARTTLS required (``tls``), implicit
    TLS (``implicit_tls``), with a required login (``login``)."""
    recorder = _Recorder()
    options: dict[str, Any] = {}
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        if implicit_tls:
            options["ssl_context"] = context
        else:
            options.update(tls_context=context, require_starttls=True)
    if login is not None:
        options.update(authenticator=_authenticator(*login), auth_required=True)
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, server_hostname="mail.test", **options
    )
    controller.start()
    try:
        yield MailServer(port, recorder)
    finally:
        controller.stop()
