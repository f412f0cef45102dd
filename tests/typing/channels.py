"""What the recipient resolver and the real notice channels give a host."""

from __future__ import annotations

from typing import assert_type

from qiandao import (
    Contact,
    RecipientKind,
    RecipientName,
    RecipientResolver,
    Recipients,
    parse_recipient,
    resolve_recipients,
)
from qiandao.ports.notify import Notifier
from qiandao.ports.store import Store, UnitOfWork
from qiandao_adapters.channels import Resolve, SmtpNotifier, WebhookNotifier


def recipients(store: Store, uow: UnitOfWork) -> None:
    resolver: Resolve = RecipientResolver(store)  # the resolver is what the channels take
    found = resolver(["unit:u-1"])
    assert_type(found, Recipients)
    assert_type(resolve_recipients(uow, ["e1"]), Recipients)
    assert_type(found.contacts, tuple[Contact, ...])
    assert_type(found.phones, tuple[str, ...])
    assert_type(found.contacts[0].subject("zzd"), str | None)
    assert_type(parse_recipient("role:editor@zs"), RecipientName)
    assert_type(parse_recipient("e1").kind, RecipientKind)


def channels(store: Store) -> None:
    sms: Notifier = WebhookNotifier("https://sms.example/", secret=b"k")
    mail: Notifier = SmtpNotifier(
        "smtp.example",
        sender="a@example.org",
        resolver=RecipientResolver(store),
        address_of=lambda contact: None,
    )
    assert_type([sms, mail], list[Notifier])
