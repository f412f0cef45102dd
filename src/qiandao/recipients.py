"""Who a notice reaches: recipient names (``unit:…``, ``role:…@…``, account ids) turned into people.

A :class:`~qiandao.ports.notify.Notice` names its recipients the way :mod:`qiandao.notices`
writes them; a channel (SMS, e-mail, 浙政钉) needs people. :func:`parse_recipient` reads a name
(pure); :func:`resolve_recipients` reads the accounts behind names in a unit of work;
:class:`RecipientResolver` does that in its own read-only unit of work of a store, for notifiers.

Only active accounts are reached: a departed account (``DELETED``) has no phone, and a
theft-locked one (``LOCKED``, 第十七条) may be in someone else's hands. A temporary lock after
wrong passwords (``locked_until``) does not stop notices: the person still holds the phone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput, NotFound
from qiandao.model import Account, AccountStatus, ExternalIdentity
from qiandao.notices import role_group, unit_group
from qiandao.ports.store import Store, UnitOfWork
from qiandao.rules.roles import Role

__all__ = [
    "Contact",
    "RecipientKind",
    "RecipientName",
    "RecipientResolver",
    "Recipients",
    "parse_recipient",
    "resolve_recipients",
]

_UNIT = "unit:"
_ROLE = "role:"


class RecipientKind(LabelledEnum):
    """What a recipient name stands for."""

    ACCOUNT = "account", "账号"
    UNIT = "unit", "承办单位全体账号"
    ROLE = "role", "某地区某角色全体账号"


@attrs.frozen
class RecipientName:
    """A parsed recipient name: one account, a unit's accounts, or a role's holders in a place.

    ``key`` is the account id (``ACCOUNT``), the unit id (``UNIT``) or the jurisdiction
    (``ROLE``); ``role`` is set for ``ROLE`` only. ``str()`` gives the name back.
    """

    kind: RecipientKind
    """Whether the name is an account, a unit's accounts or a role's holders."""
    key: str
    """The account id (``ACCOUNT``), unit id (``UNIT``) or jurisdiction code (``ROLE``)."""
    role: Role | None = None
    """The role whose holders are meant (``ROLE`` names only)."""

    def __str__(self) -> str:
        if self.kind is RecipientKind.UNIT:
            return unit_group(self.key)
        if self.role is not None:
            return role_group(self.role, self.key)
        return self.key


def _part(text: str, name: str) -> str:
    if not text or text != text.strip() or len(text) > 128:
        raise InvalidInput("无效的通知收件人", field="recipients", recipient=name[:140])
    return text


def parse_recipient(name: str) -> RecipientName:
    """Read a recipient name as :mod:`qiandao.notices` writes it; ``input.invalid`` if malformed.

    ``unit:<unit id>``, ``role:<role value>@<jurisdiction>``, anything else an account id.
    """
    if not isinstance(name, str):
        raise InvalidInput("无效的通知收件人", field="recipients")
    if name.startswith(_UNIT):
        return RecipientName(RecipientKind.UNIT, _part(name[len(_UNIT) :], name))
    if name.startswith(_ROLE):
        role, at, place = name[len(_ROLE) :].partition("@")
        if not at or role not in Role._value2member_map_:
            raise InvalidInput("无效的通知收件人", field="recipients", recipient=name[:140])
        return RecipientName(RecipientKind.ROLE, _part(place, name), Role.parse(role))
    return RecipientName(RecipientKind.ACCOUNT, _part(name, name))


@attrs.frozen
class Contact:
    """A person a notice reaches: the account, its real name, its mobile (for SMS; ``None`` if
    the account has none), the recipient names of the notice that reached it, and the
    account's external identities (a 浙政钉 relay addresses people by their 浙政钉 id)."""

    account_id: str
    """Id of the person's account."""
    name: str
    """The person's real name."""
    phone: str | None
    """Normalised mobile number for SMS, or ``None`` if the account has none."""
    via: tuple[str, ...]
    """The recipient names of the notice that reached this person."""
    external_ids: frozenset[ExternalIdentity] = frozenset()
    """The account's external identities (e.g. its 浙政钉 id)."""

    def subject(self, provider: str) -> str | None:
        """The person's id at ``provider`` (e.g. 浙政钉), or ``None`` if not bound."""
        return next((e.subject for e in self.external_ids if e.provider == provider), None)

    def __repr__(self) -> str:  # the phone stays out of logs and tracebacks
        masked = None if self.phone is None else f"{self.phone[:3]}****{self.phone[-4:]}"
        return f"Contact(account_id={self.account_id!r}, name={self.name!r}, phone={masked!r})"


@attrs.frozen
class Recipients:
    """What names resolved to: each reachable person once (first named first), and the names
    that reached nobody (an unknown account or unit, a role nobody active holds)."""

    contacts: tuple[Contact, ...]
    """Each reachable person once, first named first."""
    unreached: tuple[str, ...]
    """The names that reached nobody, in the order given."""

    @property
    def phones(self) -> tuple[str, ...]:
        """The contacts' mobile numbers, in contact order, those without one left out."""
        return tuple(c.phone for c in self.contacts if c.phone is not None)


def _accounts_of(uow: UnitOfWork, name: RecipientName) -> list[Account]:
    if name.kind is RecipientKind.ACCOUNT:
        try:
            return [uow.accounts.get(name.key)]
        except NotFound:
            return []
    if name.kind is RecipientKind.ROLE:
        assert name.role is not None
        return uow.accounts.holders(name.role, name.key)
    try:
        unit = uow.units.get(name.key)
    except NotFound:
        return []
    return [
        a
        for a in uow.accounts.holders(Role.HANDLING_UNIT, unit.jurisdiction)
        if any(g.role is Role.HANDLING_UNIT and g.unit_id == unit.id for g in a.grants)
    ]


def resolve_recipients(uow: UnitOfWork, names: Iterable[str]) -> Recipients:
    """The active accounts behind recipient names, read in ``uow`` (nothing is written).

    Each person appears once, in the order first reached, with every name that reached them.
    A malformed name is ``input.invalid`` (the notice stays in the outbox).
    """
    parsed = [(name, parse_recipient(name)) for name in names]
    found: dict[str, tuple[Account, list[str]]] = {}
    unreached: list[str] = []
    for raw, name in parsed:
        reached = False
        for account in _accounts_of(uow, name):
            if account.status is not AccountStatus.ACTIVE:
                continue
            reached = True
            via = found.setdefault(account.id, (account, []))[1]
            if raw not in via:
                via.append(raw)
        if not reached and raw not in unreached:
            unreached.append(raw)
    contacts = tuple(
        Contact(account.id, account.real_name, account.phone, tuple(via), account.external_ids)
        for account, via in found.values()
    )
    return Recipients(contacts, tuple(unreached))


class RecipientResolver:
    """Resolves recipient names against a store, each call in its own read-only unit of work.

    A notifier calls it at delivery time, so a person who departed or was locked after the
    notice was recorded is not reached. Nothing is written and nothing is audited (no person
    acts); the phones it returns belong in the message to the gateway only.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, names: Sequence[str]) -> Recipients:
        """The people behind ``names`` (see :func:`resolve_recipients`)."""
        with self.store.unit_of_work() as uow:
            return resolve_recipients(uow, names)
