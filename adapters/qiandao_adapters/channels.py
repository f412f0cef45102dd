"""Notifiers to real channels: e-mail over SMTP, and an HTTP webhook (an SMS gateway, a 浙政钉
work-notice relay). Both use only the standard library.

Either raises :class:`NoticeDeliveryError` when the channel did not take the notice (a refused
connection, a timeout, a non-2xx answer, every address refused), so the outbox keeps it and tries
again; the notice id travels with it (``Message-ID``, ``Idempotency-Key``) so a receiver drops a
repeat. A notice whose names reach nobody reachable (no active account, no address, no phone)
is not sent and not retried: a warning names the notice and the names, never a phone or address.
No secret (password, shared key, the webhook's path or query) goes into a log or an exception.
See docs/channels.md.
"""

from __future__ import annotations

import email.policy
import email.utils
import hashlib
import hmac
import http.client
import json
import logging
import re
import smtplib
import ssl
import string
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal

from qiandao.ports.clock import Clock
from qiandao.ports.notify import Notice
from qiandao.recipients import Contact, Recipients
from qiandao.rules.deadlines import SHANGHAI
from qiandao_adapters.clock import SystemClock
from qiandao_adapters.notifiers import kind_label

__all__ = [
    "TEMPLATE_FIELDS",
    "NoticeDeliveryError",
    "Resolve",
    "SmtpNotifier",
    "WebhookNotifier",
    "notice_fields",
    "sign",
    "verify_signature",
]

log = logging.getLogger("qiandao.notices")

Resolve = Callable[[Sequence[str]], Recipients]
"""Turns a notice's recipient names into people: a :class:`qiandao.RecipientResolver`, or the
host's own function."""


class NoticeDeliveryError(ConnectionError):
    """The channel did not take the notice; the outbox keeps it and tries again.

    ``notice_id`` and ``channel`` (``smtp`` or ``webhook``) say which; the message names the
    server's host, never a credential, a path or a query.
    """

    def __init__(self, message: str, *, notice_id: str, channel: str) -> None:
        super().__init__(message)
        self.notice_id = notice_id
        self.channel = channel


TEMPLATE_FIELDS = (
    "id",
    "kind",
    "kind_label",
    "text",
    "at",
    "item_id",
    "recipients",
    "account_ids",
    "names",
    "phones",
    "phone_list",
    "external_ids",
)
"""The fields a webhook template may use (see :func:`notice_fields`)."""


def notice_fields(
    notice: Notice, recipients: Recipients | None = None, provider: str | None = None
) -> dict[str, Any]:
    """A notice as template fields: ``id``, ``kind``, ``kind_label`` (Chinese), ``text``, ``at``
    (ISO 8601 with offset), ``item_id`` (or ``None``), ``recipients`` (the names), and from the
    resolved people ``account_ids``, ``names``, ``phones`` (lists), ``phone_list`` (the phones
    joined by commas) and ``external_ids`` (their ids at ``provider``, e.g. 浙政钉, those bound);
    these are empty without a resolver."""
    contacts: Sequence[Contact] = recipients.contacts if recipients is not None else ()
    phones = list(recipients.phones) if recipients is not None else []
    subjects = (c.subject(provider) for c in contacts) if provider is not None else ()
    return {
        "id": notice.id,
        "kind": notice.kind,
        "kind_label": kind_label(notice.kind),
        "text": notice.text,
        "at": notice.at.isoformat(),
        "item_id": notice.item_id,
        "recipients": list(notice.recipients),
        "account_ids": [c.account_id for c in contacts],
        "names": [c.name for c in contacts],
        "phones": phones,
        "phone_list": ",".join(phones),
        "external_ids": [subject for subject in subjects if subject is not None],
    }


_HEADER_SAFE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,198}[\x21-\x7e])?")


def _header_key(notice_id: str) -> str:
    """The notice id as a header value: itself, or (an odd id of a host) its SHA-256."""
    if _HEADER_SAFE.fullmatch(notice_id):
        return notice_id
    return "sha256:" + hashlib.sha256(notice_id.encode()).hexdigest()


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc.rpartition("@")[2] or "?"


def _unreachable(notice: Notice, channel: str, names: Sequence[str]) -> None:
    log.warning(
        "通知 %s 未经%s发送：收件人 %s 中没有可送达的人（有效账号、地址或手机号）",
        notice.id,
        channel,
        "、".join(names) or "（无）",
    )


# --- webhook ----------------------------------------------------------------------------------


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256, keyed with the shared
    secret, of the timestamp header's value, a full stop, and the body bytes as sent."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: datetime,
    tolerance: int = 300,
) -> bool:
    """What a receiver checks: the signature matches (in constant time) and the timestamp is
    within ``tolerance`` seconds of ``now`` (an old request replayed is refused)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


Body = bytes | str | Mapping[str, Any] | list[Any]
Template = Mapping[str, Any] | Callable[[Mapping[str, Any]], Body]

_WHOLE = re.compile(r"\$(?:(\w+)|\{(\w+)\})")


def _as_text(value: object) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _fill(shape: object, fields: Mapping[str, Any]) -> object:
    """Fill a JSON-shaped template: a string that is only ``$field`` becomes the field's value
    (a list stays a list); other strings substitute ``$field`` as text (lists joined by commas)."""
    if isinstance(shape, str):
        whole = _WHOLE.fullmatch(shape)
        if whole:
            return fields[whole.group(1) or whole.group(2)]
        return string.Template(shape).substitute({k: _as_text(v) for k, v in fields.items()})
    if isinstance(shape, Mapping):
        return {key: _fill(value, fields) for key, value in shape.items()}
    if isinstance(shape, list | tuple):
        return [_fill(value, fields) for value in shape]
    return shape


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: urllib would repeat a POST as a GET without its body and report
    the page it lands on as success."""

    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None


class WebhookNotifier:
    """POSTs each notice to an HTTP endpoint: an SMS gateway or a 浙政钉 work-notice relay.

    The body is ``template`` filled with :func:`notice_fields`: a JSON-shaped mapping whose
    strings may hold ``$field`` (sent as JSON), or a callable returning bytes, text or a JSON
    value; by default every field as JSON. Headers: the notice id as ``idempotency_header``, the
    Unix time as ``timestamp_header`` and :func:`sign` of both as ``signature_header``.

    With a ``resolver`` the names become people first; ``phones_required`` (SMS) skips a notice
    that reaches no phone. A non-2xx answer, a redirect, a timeout, a refused connection, or
    ``accept(status, body)`` returning false raises :class:`NoticeDeliveryError`. ``provider``
    names the external identity (e.g. the 浙政钉 provider's name) whose ids fill ``external_ids``.
    ``ssl_context`` verifies an ``https`` endpoint (default: the system's CAs; give one that
    trusts a government intranet's own CA).
    """

    def __init__(
        self,
        url: str,
        *,
        secret: bytes | str,
        resolver: Resolve | None = None,
        template: Template | None = None,
        content_type: str = "application/json; charset=utf-8",
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        signature_header: str = "X-Qiandao-Signature",
        timestamp_header: str = "X-Qiandao-Timestamp",
        idempotency_header: str = "Idempotency-Key",
        phones_required: bool = False,
        accept: Callable[[int, bytes], bool] | None = None,
        provider: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock | None = None,
    ) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("webhook url must be http(s) / 网关地址须为 http 或 https")
        if not secret:
            raise ValueError("webhook secret must not be empty / 共享密钥不能为空")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._url = url
        self._secret = secret.encode() if isinstance(secret, str) else bytes(secret)
        self.resolver = resolver
        self.template = template
        self.content_type = content_type
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.signature_header = signature_header
        self.timestamp_header = timestamp_header
        self.idempotency_header = idempotency_header
        self.phones_required = phones_required
        self.accept = accept
        self.provider = provider
        self.clock: Clock = clock or SystemClock()
        self.host = _host(url)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ssl_context), _RefuseRedirects()
        )
        if isinstance(template, Mapping):  # a wrong field name fails here, not at 3 a.m.
            try:
                _fill(template, dict.fromkeys(TEMPLATE_FIELDS, ""))
            except (KeyError, ValueError) as exc:
                raise ValueError(f"webhook template: unknown field or bad $ ({exc})") from None

    def __repr__(self) -> str:
        return f"WebhookNotifier(host={self.host!r})"

    def body(self, notice: Notice, recipients: Recipients | None = None) -> bytes:
        """The request body for ``notice`` (what is signed and sent)."""
        fields = notice_fields(notice, recipients, self.provider)
        if self.template is None:
            made: object = fields
        elif isinstance(self.template, Mapping):
            made = _fill(self.template, fields)
        else:
            made = self.template(fields)
        if isinstance(made, bytes):
            return made
        if isinstance(made, str):
            return made.encode("utf-8")
        return json.dumps(made, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def send(self, notice: Notice) -> None:
        """POST ``notice``; raise :class:`NoticeDeliveryError` unless the endpoint took it."""
        recipients = None
        if self.resolver is not None:
            recipients = self.resolver(notice.recipients)
            if not (recipients.phones if self.phones_required else recipients.contacts):
                _unreachable(notice, "网关", notice.recipients)
                return
        body = self.body(notice, recipients)
        timestamp = str(int(self.clock.now().timestamp()))
        request = urllib.request.Request(self._url, data=body, method="POST")
        for name, value in {
            **self.headers,
            "Content-Type": self.content_type,
            self.idempotency_header: _header_key(notice.id),
            self.timestamp_header: timestamp,
            self.signature_header: sign(self._secret, timestamp, body),
        }.items():
            request.add_header(name, value)
        self._post(notice, request)

    def _post(self, notice: Notice, request: urllib.request.Request) -> None:
        why = self._exchange(request)
        if why is not None:  # raised outside the handler: no chained error carries the url
            raise NoticeDeliveryError(
                f"通知 {notice.id} 投递失败：网关 {self.host} {why}",
                notice_id=notice.id,
                channel="webhook",
            )

    def _exchange(self, request: urllib.request.Request) -> str | None:
        """Why the endpoint did not take the request, or ``None`` when it did."""
        timed_out = f"超时（{self.timeout:g} 秒）"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status: int = response.status
                answer: bytes = response.read(65536)
        except urllib.error.HTTPError as exc:
            exc.close()
            return f"返回 HTTP {exc.code}"
        except TimeoutError:
            return timed_out
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None)
            if isinstance(reason, TimeoutError):
                return timed_out
            return f"连接失败（{type(reason or exc).__name__}）"
        if not 200 <= status < 300:
            return f"返回 HTTP {status}"
        if self.accept is not None and not self.accept(status, answer):
            return f"拒绝了通知（HTTP {status}）"
        return None


# --- e-mail -----------------------------------------------------------------------------------

Security = Literal["starttls", "ssl", "none"]
_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
# ASCII only: a mailbox needing SMTPUTF8 would fail on most servers, and on every retry
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_ID_LEFT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}")


def _default_compose(notice: Notice) -> tuple[str, str]:
    at = notice.at.astimezone(SHANGHAI)
    lines = [
        notice.text,
        "",
        f"类别：{kind_label(notice.kind)}",
        f"时间：{at:%Y-%m-%d %H:%M}",
    ]
    if notice.item_id:
        lines.append(f"信息编号：{notice.item_id}")
    lines += ["", "请登录系统查看详情。本邮件由系统自动发送，请勿回复。"]
    return f"【社情民意】{kind_label(notice.kind)}", "\n".join(lines) + "\n"


class SmtpNotifier:
    """Sends each notice as one e-mail to the addresses of the people it reaches.

    ``resolver`` turns names into people and ``address_of`` gives a person's address (accounts
    carry no e-mail; the host keeps them), ``None`` for none. One message goes to every address
    (``To: undisclosed-recipients``, so nobody sees the others); its ``Message-ID`` is made from
    the notice id, so a repeat is the same message. ``compose(notice)`` gives subject and body
    (Chinese, UTF-8). ``security``: ``starttls`` (port 587), ``ssl`` (465) or ``none`` (25, a
    relay on the local network only); ``username``/``password`` log in when given.
    ``local_hostname`` is what the client says in ``EHLO`` (by default the machine's FQDN,
    which smtplib looks up on every connection).
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        sender: str,
        resolver: Resolve,
        address_of: Callable[[Contact], str | None],
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10.0,
        compose: Callable[[Notice], tuple[str, str]] | None = None,
        message_id_domain: str | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in _PORTS:
            raise ValueError("security must be starttls, ssl or none")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        envelope = email.utils.parseaddr(sender)[1]
        if not _ADDRESS.fullmatch(envelope):
            raise ValueError("sender must be an e-mail address / 发件人须为邮件地址")
        self.host = host
        self.port = port if port is not None else _PORTS[security]
        self.sender = sender
        self.envelope_sender = envelope
        self.resolver = resolver
        self.address_of = address_of
        self.security = security
        self.username = username
        self._password = password
        # made once: loading the system's CA certificates takes ~0.2 s
        self.ssl_context = ssl_context
        if ssl_context is None and security != "none":
            self.ssl_context = ssl.create_default_context()
        self.timeout = timeout
        self.compose = compose or _default_compose
        self.message_id_domain = message_id_domain or envelope.rpartition("@")[2]
        self.local_hostname = local_hostname

    def __repr__(self) -> str:
        return f"SmtpNotifier(host={self.host!r}, port={self.port}, security={self.security!r})"

    def message_id(self, notice: Notice) -> str:
        """The ``Message-ID`` of ``notice``'s e-mail: the same for every delivery of it."""
        left = notice.id
        if not _ID_LEFT.fullmatch(left) or ".." in left or left.startswith(".") or left[-1] == ".":
            left = hashlib.sha256(notice.id.encode()).hexdigest()[:40]
        return f"<qiandao.{left}@{self.message_id_domain}>"

    def message(self, notice: Notice) -> EmailMessage:
        """The e-mail of ``notice`` (without recipients: they go in the envelope)."""
        subject, body = self.compose(notice)
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = self.sender
        message["To"] = "undisclosed-recipients:;"
        message["Subject"] = subject
        message["Date"] = email.utils.format_datetime(notice.at)
        message["Message-ID"] = self.message_id(notice)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
        for header, value in (("X-Qiandao-Notice-Id", notice.id), ("X-Qiandao-Kind", notice.kind)):
            if _HEADER_SAFE.fullmatch(value):  # a host's odd id stays out of the headers
                message[header] = value
        # base64: 7-bit safe on a server without 8BITMIME, and compact for Chinese
        message.set_content(body, charset="utf-8", cte="base64")
        return message

    def addresses(self, recipients: Recipients) -> list[str]:
        """The e-mail addresses of the people reached, each once; a malformed one is left out
        with a warning naming the account only."""
        found: list[str] = []
        for contact in recipients.contacts:
            address = self.address_of(contact)
            if address is None:
                continue
            if not _ADDRESS.fullmatch(address):
                log.warning("账号 %s 的邮件地址格式无效，已跳过", contact.account_id)
            elif address not in found:
                found.append(address)
        return found

    def send(self, notice: Notice) -> None:
        """Mail ``notice``; raise :class:`NoticeDeliveryError` unless the server took it."""
        addresses = self.addresses(self.resolver(notice.recipients))
        if not addresses:
            _unreachable(notice, "邮件", notice.recipients)
            return
        why = self._deliver(notice, addresses)
        if why is not None:  # raised outside the handler: nothing chained to it
            raise NoticeDeliveryError(
                f"通知 {notice.id} 投递失败：邮件服务器 {self.host}:{self.port} {why}",
                notice_id=notice.id,
                channel="smtp",
            )

    def _deliver(self, notice: Notice, addresses: list[str]) -> str | None:
        """Why the server did not take the notice's message, or ``None`` when it did."""
        message = self.message(notice)
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(
                    message, from_addr=self.envelope_sender, to_addrs=addresses
                )
        except smtplib.SMTPResponseException as exc:
            return f"返回 {exc.smtp_code}"
        except smtplib.SMTPRecipientsRefused:
            return "拒收全部收件人"
        except TimeoutError:
            return f"超时（{self.timeout:g} 秒）"
        except (smtplib.SMTPException, OSError) as exc:
            return f"连接失败（{type(exc).__name__}）"
        if refused:
            log.warning("通知 %s：邮件服务器拒收 %d 个地址", notice.id, len(refused))
        return None

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                self.local_hostname,
                timeout=self.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, self.local_hostname, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username is not None and self._password is not None:
                smtp.login(self.username, self._password)
        except BaseException:
            smtp.close()
            raise
        return smtp
