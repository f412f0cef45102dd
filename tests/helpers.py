"""Builders shared by the service tests: a world of people and units, an issued item, refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import attrs
import pytest

from qiandao._core import Actor
from qiandao.errors import AuthenticationFailed, QiandaoError
from qiandao.events import Event
from qiandao.model import Account, Assignment, ExternalIdentity, Item, Unit
from qiandao.ports.analysis import TextAnalyzer
from qiandao.ports.notify import Notice
from qiandao.ports.store import OutboxMessage, Store
from qiandao.rules.deadlines import SHANGHAI
from qiandao.rules.points import AdoptionLevel
from qiandao.rules.rating import Rating
from qiandao.rules.roles import Role
from qiandao.rules.ruleset import RuleSet
from qiandao.service import Qiandao
from qiandao.testing import ManualClock
from qiandao_adapters.memory import MemoryStore

ZS = "zhoushan"
DH = "zhoushan.dinghai"


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant in Asia/Shanghai."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


class Notifier:
    """Records what it sends; while ``failing`` it raises instead (a gateway that is down)."""

    def __init__(self) -> None:
        self.sent: list[Notice] = []
        self.failing = False

    def send(self, notice: Notice) -> None:
        if self.failing:
            raise ConnectionError("gateway down")
        self.sent.append(notice)


class FakeZzd:
    """A fake 浙政钉 provider: ticket ``ok:<subject>`` verifies, anything else fails."""

    name = "zzd"

    def verify(self, ticket: str) -> ExternalIdentity:
        if not ticket.startswith("ok:"):
            raise AuthenticationFailed("扫码凭证无效")
        return ExternalIdentity("zzd", ticket[3:])


def _people(j: str, tag: str) -> dict[str, Actor]:
    return {
        "member": Actor(f"{tag}m1", Role.MEMBER, j),
        "coauthor": Actor(f"{tag}m2", Role.MEMBER, j),
        "stranger": Actor(f"{tag}m3", Role.MEMBER, j),
        "editor": Actor(f"{tag}e1", Role.EDITOR, j),
        "deputy": Actor(f"{tag}d1", Role.DEPUTY, j),
        "head": Actor(f"{tag}h1", Role.OFFICE_HEAD, j),
    }


@attrs.define
class World:
    """A service over a store (memory unless told), a manual clock, people and units."""

    store: Store
    clock: ManualClock
    qd: Qiandao
    notifier: Notifier
    city: dict[str, Actor]
    county: dict[str, Actor]
    units: dict[str, Actor]

    def __getattr__(self, name: str) -> Actor:
        if name in self.city:
            return self.city[name]
        raise AttributeError(name)

    def load(self, item_id: str) -> Item:
        with self.store.unit_of_work() as uow:
            return uow.items.get(item_id)

    def events(self, item_id: str) -> list[Event]:
        with self.store.unit_of_work() as uow:
            return uow.events.for_item(item_id)

    def outbox(self) -> list[OutboxMessage]:
        with self.store.unit_of_work() as uow:
            return uow.outbox.pending(10_000)

    def issued(self, people: dict[str, Actor] | None = None, **data: Any) -> Item:
        """An item submitted by ``member`` with ``coauthor``, passed, approved and signed."""
        p = people or self.city
        fields = {
            "title": "海岛渔民养老保险",
            "body": "渔民反映养老保险缴费年限计算不一致。",
            "category": "hot_issue",
            "coauthor_ids": [p["coauthor"].account_id],
        }
        fields.update(data)
        item = self.qd.submit_new(p["member"], fields)
        item = self.qd.pass_preliminary(
            p["editor"], item.id, destinations=["forward_to_departments"]
        )
        item = self.qd.approve(p["deputy"], item.id)
        return self.qd.sign(p["head"], item.id)

    def assigned(self, *units: str | tuple[str, bool]) -> tuple[Item, list[Assignment]]:
        """An issued city item assigned (now) to ``units`` (default: unit A as lead)."""
        item = self.issued()
        item = self.qd.assign(self.editor, item.id, list(units) or [("u-a", True)])
        return item, list(item.assignments)

    def accepted(self, *units: str) -> tuple[Item, list[Assignment]]:
        """Assigned and accepted by every unit."""
        item, assignments = self.assigned(*(units or ("u-a",)))
        for a in assignments:
            self.qd.accept(self.unit(a.unit_id), item.id, a.id)
        item = self.load(item.id)  # as stored: a unit's command returns only what it may see
        return item, list(item.assignments)

    def unit(self, unit_id: str) -> Actor:
        return self.units[unit_id]


def make_world(
    start: datetime | None = None,
    *,
    city_rules: RuleSet | None = None,
    county_rules: RuleSet | None = None,
    store: Store | None = None,
    analyzer: TextAnalyzer | None = None,
) -> World:
    """A fresh world (on a memory store unless given an empty ``store``); the clock starts on
    Monday 2026-03-02 09:00 unless told otherwise."""
    clock = ManualClock(start or at(2026, 3, 2))
    store = store or MemoryStore()
    notifier = Notifier()
    rules = {
        ZS: city_rules or RuleSet.zhoushan(),
        DH: county_rules or RuleSet(jurisdiction=DH, name="定海区政协"),
    }
    qd = Qiandao(
        store,
        clock=clock,
        rules=rules,
        notifier=notifier,
        hasher=None,
        dispatch_after_commit=True,
        analyzer=analyzer,
    )
    city = _people(ZS, "")
    county = _people(DH, "dh-")
    units = {
        "u-a": Actor("ua", Role.HANDLING_UNIT, ZS, unit_id="u-a"),
        "u-b": Actor("ub", Role.HANDLING_UNIT, ZS, unit_id="u-b"),
        "u-c": Actor("uc", Role.HANDLING_UNIT, ZS, unit_id="u-c"),
        "u-dh": Actor("udh", Role.HANDLING_UNIT, DH, unit_id="u-dh"),
    }
    with store.unit_of_work() as uow:
        uow.units.add(Unit("u-a", "市自然资源和规划局", ZS))
        uow.units.add(Unit("u-b", "市海洋与渔业局", ZS))
        uow.units.add(Unit("u-c", "市人力社保局", ZS))
        uow.units.add(Unit("u-old", "市已撤并单位", ZS, active=False))
        uow.units.add(Unit("u-dh", "定海区农业农村局", DH))
        for actor in (*city.values(), *county.values(), *units.values()):
            uow.accounts.add(
                Account(
                    actor.account_id,
                    1,
                    actor.account_id,
                    (actor.grant,),
                    actor.jurisdiction,
                    clock.now(),
                )
            )
        uow.commit()
    return World(store, clock, qd, notifier, city, county, units)


def busy_world() -> World:
    """Q1 2026 with items in every stage: adopted (with provincial adoption feedback), replied
    and rated, overdue at two units, awaiting sign-off, just submitted; then 40 days on."""
    w = make_world(at(2026, 3, 2))
    w.qd.record_adoption(w.editor, w.issued().id, AdoptionLevel.PROVINCIAL_CPPCC, date(2026, 3, 2))
    item, (a,) = w.accepted("u-a")
    w.clock.advance(days=3)
    w.qd.reply(w.unit("u-a"), item.id, a.id, "已办理")
    w.qd.rate(w.member, item.id, a.id, Rating.SATISFIED)
    w.assigned(("u-b", True), "u-c")
    pending = w.qd.submit_new(
        w.member, {"title": "待签发", "body": "正文", "category": "hot_issue"}
    )
    w.qd.pass_preliminary(w.editor, pending.id, destinations=["forward_to_departments"])
    w.qd.approve(w.deputy, pending.id)
    w.qd.submit_new(w.coauthor, {"title": "刚报送", "body": "正文", "category": "emergency"})
    w.clock.advance(days=40)
    return w


def fails(code: str, call: Callable[[], object]) -> QiandaoError:
    """``call`` fails with the error ``code``."""
    with pytest.raises(QiandaoError) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value


def refused(world: World, item_id: str, code: str, call: Callable[[], object]) -> QiandaoError:
    """``call`` fails with ``code`` and leaves the item, its events and the outbox untouched."""
    before = world.load(item_id)
    events = world.events(item_id)
    outbox = world.outbox()
    error = fails(code, call)
    assert world.load(item_id) == before
    assert world.load(item_id).version == before.version
    assert world.events(item_id) == events
    assert world.outbox() == outbox
    return error


SECURITY = Actor("security-1", Role.SECURITY_ADMIN, ZS)
"""The platform's security admin, who approves content grants (三员分立, 第十九条)."""


def register_approved(qd: Qiandao, admin: Actor, **fields: Any) -> Account:
    """Register a content account (only a proposal) and have :data:`SECURITY` approve it
    (both admins must have accounts: ``qiandao.testing.enrol``)."""
    pending = qd.register(admin, **fields)
    for proposal in qd.grant_proposals(SECURITY).items:
        if proposal.account_id == pending.id:
            qd.approve_grant(SECURITY, proposal.id)
    with qd.store.unit_of_work() as uow:
        return uow.accounts.get(pending.id)
