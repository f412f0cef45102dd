"""Wiring real notice channels from the environment: an SMS gateway and e-mail (docs/channels.md).

Run: ``python examples/channels.py`` prints which channels the environment configures.

- ``QIANDAO_SMS_URL``, ``QIANDAO_SMS_SECRET``: the SMS gateway (signed JSON with the phones);
- ``QIANDAO_SMTP_HOST``, ``QIANDAO_SMTP_SENDER``, ``QIANDAO_SMTP_USER``, ``QIANDAO_SMTP_PASSWORD``:
  the mail server (STARTTLS); addresses come from the host's directory (here a dict).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from qiandao import Contact, RecipientResolver
from qiandao.ports.notify import Notice, Notifier
from qiandao.ports.store import Store
from qiandao_adapters.channels import SmtpNotifier, WebhookNotifier

DIRECTORY = {"e1": "editor1@zszx.gov.cn"}  # the host's own address book


class Channels:
    """Sends each notice on every channel; one failing raises, so the outbox tries them all
    again and each receiver drops what it already has (Idempotency-Key, Message-ID)."""

    def __init__(self, channels: Sequence[Notifier]) -> None:
        self.channels = list(channels)

    def send(self, notice: Notice) -> None:
        """Send on every channel, then raise the first failure, if any."""
        failures: list[Exception] = []
        for channel in self.channels:
            try:
                channel.send(notice)
            except Exception as exc:  # the others still get the notice
                failures.append(exc)
        if failures:
            raise failures[0]


def address_of(contact: Contact) -> str | None:
    """A person's e-mail address from the host's directory."""
    return DIRECTORY.get(contact.account_id)


def build_notifier(store: Store, env: Mapping[str, str] = os.environ) -> Channels:
    """The channels ``env`` configures, resolving recipients against ``store``."""
    resolver = RecipientResolver(store)
    channels: list[Notifier] = []
    if env.get("QIANDAO_SMS_URL"):
        channels.append(
            WebhookNotifier(
                env["QIANDAO_SMS_URL"],
                secret=env["QIANDAO_SMS_SECRET"],
                resolver=resolver,
                template={"mobiles": "$phones", "content": "【舟山政协】$text", "bizId": "$id"},
                phones_required=True,
            )
        )
    if env.get("QIANDAO_SMTP_HOST"):
        channels.append(
            SmtpNotifier(
                env["QIANDAO_SMTP_HOST"],
                sender=env["QIANDAO_SMTP_SENDER"],
                resolver=resolver,
                address_of=address_of,
                username=env.get("QIANDAO_SMTP_USER"),
                password=env.get("QIANDAO_SMTP_PASSWORD"),
            )
        )
    return Channels(channels)


if __name__ == "__main__":
    from qiandao_adapters.memory import MemoryStore

    built = build_notifier(MemoryStore())
    print("通知渠道 / channels:", ", ".join(repr(c) for c in built.channels) or "（未配置 none）")
