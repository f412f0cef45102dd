"""A command returns the caller's view, never more (issue 9): the property, for every command.

After every successful command that returns an item, the result is compared with the same
actor's ``item_detail`` right after (:func:`check_returned`, the one comparison): the result
holds nothing the projection at the actor's level would hide (it is a fixed point of
``Item.as_seen``), it maps to exactly the detail's view, and it is the state the command saved.
An actor who cannot see the item afterwards gets a receipt that holds no hidden field. Every
account a command returns carries no password hash or history.

:class:`ViewsMachine` is the workflow machine of ``tests/test_stateful.py`` (random commands by
random actors: authors, co-authors, info officer, editors of two jurisdictions, deputy, signers,
units, an admin; secret or not, opted out or not, merged) with its service wrapped in
:class:`Checked`; the scenarios below reach what it does not (reporting up, commissions, the
account commands) and prove, through ``inspect``, that every public method returning an item
or an account was checked.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

import qiandao._core
from qiandao import (
    Access,
    AccountView,
    Actor,
    AdoptionLevel,
    Commission,
    Destination,
    Item,
    ItemState,
    LeaderRank,
    NotFound,
    Qiandao,
    QiandaoError,
    Rating,
    Role,
    RoleGrant,
    SignIn,
)
from qiandao.ports.store import Store
from qiandao.rules.deadlines import local_day
from qiandao.rules.roles import ADMIN_ROLES
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.argon2_hasher import Argon2Hasher
from qiandao_adapters.delivery import RecordingDelivery
from qiandao_adapters.memory import MemoryStore
from tests import test_stateful as stateful
from tests.helpers import ZS, FakeZzd, World, at, make_world

RESULT_TYPES = (Item, AccountView, Commission, SignIn, Actor)
"""What a command may return that holds data about people or items."""


def returned_types(annotation: object) -> set[type]:
    """The classes of :data:`RESULT_TYPES` an annotation names, however nested."""
    found = {annotation} & set(RESULT_TYPES) if isinstance(annotation, type) else set()
    for argument in typing.get_args(annotation):
        found |= returned_types(argument)
    return found


def commands_returning(kind: type) -> set[str]:
    """The public methods of :class:`Qiandao` whose return value holds a ``kind``."""
    return {
        name
        for name, method in inspect.getmembers(Qiandao, inspect.isfunction)
        if not name.startswith("_")
        and kind in returned_types(inspect.signature(method, eval_str=True).return_annotation)
    }


def check_returned(qd: Qiandao, actor: Actor, returned: Item) -> None:
    """The one comparison: ``returned`` shows what ``item_detail(actor, …)`` shows, no more."""
    with qd.store.unit_of_work() as uow:
        stored = uow.items.get(returned.id)
    try:
        detail = qd.item_detail(actor, returned.id)
    except NotFound:  # the actor cannot read the item now: a receipt with no hidden field
        assert returned.as_seen(Access.NONE) == returned, "a receipt holds a hidden field"
        assert returned == stored.as_seen(Access.NONE)
        return
    level = detail.access
    assert returned.as_seen(level, actor.unit_id) == returned, (
        f"{actor.role.value} at {level.value} received a field item_detail hides"
    )
    with qd.store.unit_of_work() as uow:
        labels = qd._labels(uow, [returned])
    assert qd._view_of(actor, returned, level, qd.now(), labels) == detail
    assert returned == stored.as_seen(level, actor.unit_id)  # the state the command saved


MASKED = re.compile(r"^1\d{2}\*{4}\d{4}$")


def check_account(view: AccountView, viewer_id: str | None) -> None:
    """No command hands out a password hash (an admin could crack it offline, 第十九条), nor
    a phone number but to its own person."""
    assert not {"password_hash", "password_history"} & set(attrs.fields_dict(type(view)))
    if view.phone is None:
        return
    if viewer_id == view.id:
        assert not view.phone_masked and MASKED.match(view.phone) is None, "own phone masked"
    else:
        assert view.phone_masked and MASKED.match(view.phone), "another person's phone shown"


class Checked:
    """A :class:`Qiandao` whose every command result is checked as it returns; records which
    commands returned which kind of result."""

    def __init__(self, qd: Qiandao) -> None:
        self.qd = qd
        self.seen: dict[type, set[str]] = {kind: set() for kind in RESULT_TYPES}

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.qd, name)
        if name.startswith("_") or not inspect.ismethod(found):
            return found

        def call(*args: Any, **kwargs: Any) -> Any:
            result = found(*args, **kwargs)
            self.returned(name, inspect.signature(found).bind(*args, **kwargs).arguments, result)
            return result

        return call

    def returned(self, name: str, arguments: dict[str, Any], result: object) -> None:
        """A call returned ``result``: check it (``tests/test_json.py`` also records it)."""
        self.check(name, arguments.get("actor", arguments.get("token")), result)

    def check(self, name: str, actor: object, result: object) -> None:
        parts = result if isinstance(result, tuple) else (result,)
        for part in parts:
            for kind in RESULT_TYPES:
                if isinstance(part, kind):
                    self.seen[kind].add(name)
            if isinstance(part, Item):
                assert isinstance(actor, Actor), name
                check_returned(self.qd, actor, part)
            elif isinstance(part, AccountView):
                # a token's command (bind_external) acts for the token's own person
                own = actor.account_id if isinstance(actor, Actor) else None
                check_account(part, part.id if name == "bind_external" else own)


# --- the property over random runs --------------------------------------------------------


# the states before handling, in the order the natural steps pass them (the enum's order)
REVIEW_ORDER = tuple(state for state in ItemState if state in stateful.BEFORE_HANDLING)
assert REVIEW_ORDER[0] is ItemState.DRAFT and REVIEW_ORDER[-1] is ItemState.ISSUED
SIDE_STEPS = {  # review and feedback commands, and the state each needs
    "return_for_revision": ItemState.SUBMITTED,
    "reject": ItemState.SUBMITTED,
    "merge": ItemState.SUBMITTED,
    "send_back": ItemState.IN_REVIEW,
    "edit_draft": ItemState.RETURNED,
    "resubmit": ItemState.RETURNED,
    "withdraw": ItemState.RETURNED,
    "record_adoption": ItemState.ISSUED,
    "record_implementation": ItemState.ISSUED,
    "set_publication_consent": ItemState.ISSUED,
    "reclassify": ItemState.ISSUED,
}
HANDLING_CHAINS = {  # handling commands in the order that lets each succeed
    "extension": ("accept", "request_extension", "approve_extension"),
    "refused_extension": ("accept", "request_extension", "refuse_extension", "reply"),
    "reassigned": ("decline", "reassign", "accept", "reply"),
    "rehandled": ("accept", "reply", "rate", "order_rehandle", "reply"),
    "cancelled": ("accept", "cancel_assignment"),
}


class ViewsMachine(stateful.WorkflowMachine):
    """The workflow machine, each command's result checked against the actor's detail."""

    def __init__(self) -> None:
        super().__init__()
        self.checked = Checked(self.qd)
        self.qd = self.checked  # type: ignore[assignment]

    def use_store(self, store: Store) -> None:
        """Run on ``store`` instead (before the initializer)."""
        self.store = store
        qd = Qiandao(
            store, clock=self.clock, calendar=stateful.CALENDAR, rules=stateful.RULES, hasher=None
        )
        self.checked = Checked(qd)
        self.qd = self.checked  # type: ignore[assignment]

    def reach(self, item: str, state: ItemState) -> bool:
        """Take ``item`` by the natural steps (and 初审's return, for RETURNED) to ``state``."""
        forward = [Destination.FORWARD_TO_DEPARTMENTS.value]
        for _ in range(6):
            current = self.load(item).state
            if current is state:
                return True
            if current not in REVIEW_ORDER or REVIEW_ORDER.index(current) >= REVIEW_ORDER.index(
                state
            ):
                return False
            if state is ItemState.RETURNED and current is ItemState.SUBMITTED:
                editor = stateful.ACTORS["e1"]
                call = partial(self.qd.return_for_revision, editor, item, "请补充数据")
                self.attempt(item, "return_for_revision", call, editor)
            else:
                self._next_step(item, forward, Rating.SATISFIED)
        return self.load(item).state is state

    @rule(
        item=stateful.WorkflowMachine.items,
        other=stateful.WorkflowMachine.items,
        name=st.sampled_from(sorted(SIDE_STEPS)),
        flag=st.booleans(),
    )
    def side_step(self, item: str, other: str, name: str, flag: bool) -> None:
        """A review or feedback command by the actor it belongs to, on an item first taken to
        the state it needs, so that random runs return, reject, merge and record often."""
        if item not in self.known or not self.reach(item, SIDE_STEPS[name]):
            return
        if name == "merge" and (other not in self.known or not self.reach(other, SIDE_STEPS[name])):
            return
        qd, author = self.qd, stateful.ACTORS[self.load(item).lead_author_id]
        editor, on = stateful.ACTORS["e1"], local_day(self.clock.now())
        calls: dict[str, tuple[Actor, Callable[[], Item]]] = {
            "return_for_revision": (editor, partial(qd.return_for_revision, editor, item, "补充")),
            "reject": (editor, partial(qd.reject, editor, item, "不予采用")),
            "merge": (editor, partial(qd.merge, editor, item, other)),
            "send_back": (
                stateful.ACTORS["d1"],
                partial(qd.send_back, stateful.ACTORS["d1"], item, "再审"),
            ),
            "edit_draft": (author, partial(qd.edit_draft, author, item, body="修改后的正文")),
            "resubmit": (author, partial(qd.resubmit, author, item)),
            "withdraw": (author, partial(qd.withdraw, author, item)),
            "record_adoption": (
                editor,
                partial(
                    qd.record_adoption,
                    editor,
                    item,
                    AdoptionLevel.CITY_CPPCC,
                    on,
                    shared_with_units=flag,
                ),
            ),
            "record_implementation": (
                editor,
                partial(
                    qd.record_implementation, editor, item, on, "已落实", shared_with_units=flag
                ),
            ),
            "set_publication_consent": (
                author,
                partial(qd.set_publication_consent, author, item, flag),
            ),
            "reclassify": (editor, partial(qd.reclassify, editor, item, flag, "密级调整")),
        }
        actor, call = calls[name]
        also = [other] if name == "merge" else []
        self.attempt(item, name, call, actor, also=also)

    @rule(item=stateful.WorkflowMachine.items, chain=st.sampled_from(sorted(HANDLING_CHAINS)))
    def handling_chain(self, item: str, chain: str) -> None:
        """A chain of handling commands on the item's first open assignment, each by the actor
        it belongs to: extensions, decline and reassignment, re-handling."""
        if item not in self.known or not self.reach(item, ItemState.ISSUED):
            return
        assign = partial(self.qd.assign, stateful.ACTORS["e1"], item, [("unit-1", True)])
        self.attempt(item, "assign", assign, stateful.ACTORS["e1"])
        for name in HANDLING_CHAINS[chain]:
            found = self.load(item).open_assignments or self.load(item).assignments
            if not found:
                return
            who = {"rate": stateful.AUTHOR}.get(name, stateful.SIDE_PATHS.get(name, stateful.UNIT))
            self.handle(
                item=item,
                who=who,
                index=self.load(item).assignments.index(found[0]),
                name=name,
                reason="不属于本单位职责范围",
                workdays=5,
                rating=Rating.DISSATISFIED,
                unit="unit-2",
            )


ViewsMachine.TestCase.settings = settings(  # the rest from the loaded profile (tests/conftest.py)
    max_examples=max(settings().max_examples // 2, 10),  # fast: 25 runs, ci: 150
    stateful_step_count=40,
)
TestReturnedViews = ViewsMachine.TestCase


# --- scenarios: every command, every kind of result -----------------------------------------


def item_commands(world: World, qd: Checked) -> None:
    """Every item command at least once, by the actor it belongs to, on the memory store."""
    city, county = world.city, world.county
    ua, ub, uc = world.unit("u-a"), world.unit("u-b"), world.unit("u-c")
    fields = {"title": "海岛交通", "body": "渔民出行难。", "category": "hot_issue"}
    # intake and review, secret and opted out on one item
    draft = qd.draft(city["member"], {**fields, "coauthor_ids": [city["coauthor"].account_id]})
    qd.edit_draft(city["member"], draft.id, body="渔民出行难，码头少。")
    qd.submit(city["member"], draft.id)
    qd.return_for_revision(city["editor"], draft.id, "请补充数据")
    qd.resubmit(city["member"], draft.id, body="补充了数据。")
    other = qd.submit_new(city["stranger"], {**fields, "secret": True}, idempotency_key="k1")
    qd.submit_new(city["stranger"], {**fields, "secret": True}, idempotency_key="k1")
    qd.merge(city["editor"], other.id, draft.id, "同一问题")
    qd.pass_preliminary(city["editor"], draft.id, destinations=["forward_to_departments"])
    qd.send_back(city["deputy"], draft.id, "请再审")
    qd.pass_preliminary(city["editor"], draft.id, destinations=["forward_to_departments"])
    qd.approve(city["deputy"], draft.id)
    qd.sign(city["head"], draft.id)
    qd.set_publication_consent(city["coauthor"], draft.id, False)
    gone = qd.submit_new(city["member"], fields)
    qd.reject(city["editor"], gone.id, "不予采用")
    withdrawn = qd.draft(city["member"], fields)
    qd.withdraw(city["member"], withdrawn.id)
    # handling by units, each seeing its own assignment only
    item = qd.assign(city["editor"], draft.id, [("u-a", True), "u-b"])
    a, b = item.assignments
    qd.accept(ua, item.id, a.id)
    qd.decline(ub, item.id, b.id, "不属于本单位职责范围")
    c = qd.reassign(city["editor"], item.id, b.id, "u-c").assignments[-1]
    qd.accept(uc, item.id, c.id)
    qd.request_extension(uc, item.id, c.id, 5, "需要调研")
    qd.refuse_extension(city["editor"], item.id, c.id, "时间足够")
    qd.request_extension(uc, item.id, c.id, 5, "需要调研")
    qd.approve_extension(city["editor"], item.id, c.id)
    on = world.clock.now().date()
    rank = LeaderRank.CITY_LEADER
    qd.record_instruction(
        city["editor"], item.id, "某领导", rank, on, "请研究", shared_with_units=True
    )
    qd.record_implementation(city["editor"], item.id, on, "已落实")
    qd.reply(ua, item.id, a.id, "已办理")
    qd.rate(city["member"], item.id, a.id, "dissatisfied")
    qd.order_rehandle(city["editor"], item.id, a.id, "请重新办理")
    qd.reply(ua, item.id, a.id, "已重新办理")
    qd.reply(uc, item.id, c.id, "已办理")
    qd.reclassify(city["editor"], item.id, True, "涉及敏感数据")
    for done in (a, c):
        qd.rate(city["member"], item.id, done.id, "satisfied")
    qd.close(city["editor"], item.id)
    # a unit overruled, then its assignment cancelled
    second, (x,) = world.assigned("u-b")
    qd.decline(ub, second.id, x.id, "不属于本单位职责范围")
    qd.overrule(city["editor"], second.id, x.id, "属于职责")
    qd.cancel_assignment(city["editor"], second.id, x.id, "改由他单位办理")
    # a county item reported up; a commission
    county_item = world.issued(county)
    qd.record_adoption(county["editor"], county_item.id, AdoptionLevel.CITY_CPPCC, on)
    qd.report_up(county["editor"], county_item.id)
    qd.create_commission(
        city["editor"],
        "海岛养老",
        [city["member"].account_id],
        world.clock.now().date() + timedelta(days=30),
    )


def account_commands(qd: Checked, delivery: RecordingDelivery) -> None:
    """Every account command that returns an account or a sign-in."""
    admin_account, _ = qd.bootstrap_admin(real_name="管理员", phone="13900139000")
    admin = Actor(admin_account.id, Role.SYSTEM_ADMIN, admin_account.jurisdiction)
    officer = qd.register(admin, real_name="吴安全", phone="13700137000", role="security_admin")
    security = Actor(officer.id, Role.SECURITY_ADMIN, officer.jurisdiction)
    account = qd.register(admin, real_name="张三", phone="13800138000", role=Role.MEMBER)
    (proposal,) = qd.grant_proposals(security).items
    qd.approve_grant(security, proposal.id)
    first = qd.sign_in("13800138000", delivery.password_of("13800138000"))
    signed = qd.change_password(first.token, delivery.password_of("13800138000"), "Haidao#2026wind")
    qd.authenticate(signed.token)
    qd.bind_external(signed.token, "zzd", "ok:zhangsan")
    qd.sign_in_external("zzd", "ok:zhangsan")
    qd.approve_grant(security, qd.grant_role(admin, account.id, Role.INFO_OFFICER, ZS).id)
    both = qd.sign_in("13800138000", "Haidao#2026wind")
    qd.select_grant(both.token, RoleGrant(Role.MEMBER, ZS))
    qd.revoke_role(admin, account.id, RoleGrant(Role.INFO_OFFICER, ZS))
    qd.report_theft(admin, account.id)
    qd.unlock(admin, account.id)
    qd.report_theft(Actor(account.id, Role.MEMBER, ZS), account.id)  # the person themself
    qd.unlock(admin, account.id)
    qd.depart(admin, account.id)


def _account_service() -> tuple[Checked, RecordingDelivery]:
    delivery = RecordingDelivery()
    clock = ManualClock(at(2026, 11, 26, 10))
    qd = Qiandao(
        MemoryStore(),
        clock=clock,
        hasher=Argon2Hasher.fast(),
        credential_delivery=delivery,
        identity_providers=[FakeZzd()],
    )
    return Checked(qd), delivery


def test_every_item_command_returns_the_callers_view() -> None:
    world = make_world()
    qd = Checked(world.qd)
    item_commands(world, qd)
    assert qd.seen[Item] == commands_returning(Item)
    assert qd.seen[Commission] == commands_returning(Commission)


def test_every_account_command_returns_no_credentials() -> None:
    qd, delivery = _account_service()
    account_commands(qd, delivery)
    assert qd.seen[AccountView] == commands_returning(AccountView)
    assert qd.seen[AccountView] >= {"register", "bind_external", "report_theft", "depart"}
    assert qd.seen[SignIn] | qd.seen[Actor] == (
        commands_returning(SignIn) | commands_returning(Actor)
    )


def test_admins_are_refused_item_commands() -> None:
    """Administrators see no content (DESIGN §2.8): their item commands return nothing."""
    world = make_world()
    item = world.issued()
    on = world.clock.now().date()
    for role in sorted(ADMIN_ROLES, key=lambda r: r.value):
        admin = Actor(f"admin-{role.value}", role, ZS)
        enrol(world.store, admin)
        for command, args in (
            ("assign", ([("u-a", True)],)),
            ("reclassify", (True, "调整")),
            ("record_implementation", (on, "已落实")),
        ):
            with pytest.raises(QiandaoError) as refused:
                getattr(world.qd, command)(admin, item.id, *args)
            assert refused.value.code == "permission.denied"


# --- the check attacks itself: a skipped projection is caught ------------------------------


def test_a_skipped_projection_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world()
    item, (a,) = world.assigned()
    monkeypatch.setattr(qiandao._core, "seen_by", lambda actor, saved: saved)
    with pytest.raises(AssertionError, match="received a field item_detail hides"):
        Checked(world.qd).accept(world.unit("u-a"), item.id, a.id)


def test_a_receipt_with_hidden_fields_is_caught() -> None:
    world = make_world()
    item = world.issued()
    world.qd.reclassify(world.editor, item.id, True, "涉及敏感数据")
    stranger = world.unit("u-c")  # never assigned, and a 涉密 item is never published
    with pytest.raises(AssertionError, match="receipt"):
        Checked(world.qd).check("accept", stranger, world.load(item.id))


def test_a_shown_phone_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """An admin reading a person's number through a returned account is caught."""
    qd, delivery = _account_service()
    real = AccountView.of.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        AccountView, "of", classmethod(lambda cls, account, _: real(cls, account, account.id))
    )
    with pytest.raises(AssertionError, match="another person's phone shown"):
        account_commands(qd, delivery)


def test_a_masked_own_phone_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    qd, delivery = _account_service()
    real = AccountView.of.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        AccountView, "of", classmethod(lambda cls, account, _: real(cls, account, None))
    )
    with pytest.raises(AssertionError, match="own phone masked"):
        account_commands(qd, delivery)
