"""Exhaustive permissions through the service: every role × command × state.

For every item state and every assignment state, an item is built in that state; then every
command is tried by an actor of every role (standing in the right relation: the author for
submitter roles, the assigned unit for units, the item's jurisdiction for office roles). The
command must succeed exactly when the transition table says so, and a refusal changes nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime

import pytest

from qiandao import (
    SHANGHAI,
    Actor,
    Item,
    ItemState,
    Qiandao,
    QiandaoError,
    Rating,
    Role,
    RuleSet,
    Unit,
)
from qiandao.rules.lifecycle import (
    ASSIGNMENT_TRANSITIONS,
    ITEM_TRANSITIONS,
    AssignmentCommand,
    AssignmentState,
    ItemCommand,
)
from qiandao.rules.roles import SIGNER_ROLES, SUBMITTER_ROLES
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.memory import MemoryStore

COUNTY = "zhoushan.dinghai"
CITY = "zhoushan"
START = datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)
UNITS = ("u-a", "u-b", "u-c", "u-d")


class Setup:
    """A county service, one author of a given role, staff of every role, four units."""

    def __init__(self, author_role: Role) -> None:
        self.clock = ManualClock(START)
        self.store = MemoryStore()
        rules = {CITY: RuleSet.zhoushan(), COUNTY: RuleSet(jurisdiction=COUNTY, name="定海区政协")}
        self.qd = Qiandao(self.store, clock=self.clock, rules=rules, hasher=None)
        self.author = Actor("author", author_role, COUNTY)
        self.staff = {role: Actor(f"staff-{role.value}", role, COUNTY) for role in Role}
        with self.store.unit_of_work() as uow:
            for unit in UNITS:
                uow.units.add(Unit(unit, f"单位{unit}", COUNTY))
            uow.commit()
        others = [Actor("other", role, COUNTY) for role in SUBMITTER_ROLES]
        units = [self.unit(u) for u in UNITS]
        enrol(self.store, self.author, *self.staff.values(), *others, *units, at=START)

    def unit(self, unit_id: str) -> Actor:
        return Actor(f"unit-{unit_id}", Role.HANDLING_UNIT, COUNTY, unit_id)

    def load(self, item_id: str) -> Item:
        with self.store.unit_of_work() as uow:
            return uow.items.get(item_id)

    # --- building an item in each state ---------------------------------------------------

    def submitted(self) -> Item:
        payload = {"title": "标题", "body": "正文", "category": "hot_issue"}
        return self.qd.submit_new(self.author, payload)

    def build(self, state: ItemState) -> Item:
        qd, s = self.qd, self.staff
        if state is ItemState.DRAFT:
            return qd.draft(self.author, {"title": "标题", "body": "正文", "category": "hot_issue"})
        if state is ItemState.WITHDRAWN:
            return qd.withdraw(self.author, self.build(ItemState.DRAFT).id)
        item = self.submitted()
        if state is ItemState.SUBMITTED:
            return item
        if state is ItemState.RETURNED:
            return qd.return_for_revision(s[Role.EDITOR], item.id, "请补充数据")
        if state is ItemState.NOT_ADOPTED:
            return qd.reject(s[Role.EDITOR], item.id, "重复")
        if state is ItemState.MERGED:
            return qd.merge(s[Role.EDITOR], item.id, self.submitted().id)
        item = qd.pass_preliminary(s[Role.EDITOR], item.id, destinations=["forward_to_departments"])
        if state is ItemState.IN_REVIEW:
            return item
        item = qd.approve(s[Role.DEPUTY], item.id)
        if state is ItemState.AWAITING_SIGNOFF:
            return item
        item = qd.sign(s[Role.OFFICE_HEAD], item.id)
        if state is ItemState.ISSUED:
            return item
        item = qd.assign(s[Role.EDITOR], item.id, [("u-a", True), ("u-b", False)])
        a, b = item.assignments
        item = qd.accept(self.unit("u-a"), item.id, a.id)
        item = qd.reply(self.unit("u-a"), item.id, a.id, "答复")
        item = qd.rate(self.author, item.id, a.id, Rating.DISSATISFIED)
        if state is ItemState.HANDLING:
            return item  # u-b still open
        item = qd.accept(self.unit("u-b"), item.id, b.id)
        item = qd.reply(self.unit("u-b"), item.id, b.id, "答复")
        # rated: closing waits for an open rating window (第十二条), not for permissions
        item = qd.rate(self.author, item.id, b.id, Rating.SATISFIED)
        if state is ItemState.REPLIED:
            return item
        assert state is ItemState.CLOSED
        return qd.close(s[Role.EDITOR], item.id)

    def build_assignment(self, state: AssignmentState) -> tuple[Item, str]:
        """An item with one assignment in ``state``, as stored (a unit's command returns only
        what the unit may see)."""
        item, a = self._build_assignment(state)
        return self.load(item.id), a

    def _build_assignment(self, state: AssignmentState) -> tuple[Item, str]:
        qd, editor = self.qd, self.staff[Role.EDITOR]
        item = self.build(ItemState.ISSUED)
        item = qd.assign(editor, item.id, [("u-a", True)])
        a = item.assignments[0].id
        unit = self.unit("u-a")
        if state is AssignmentState.PENDING:
            return item, a
        if state in (AssignmentState.DECLINED, AssignmentState.REASSIGNED):
            item = qd.decline(unit, item.id, a, "不属于本单位职责")
            if state is AssignmentState.REASSIGNED:
                item = qd.reassign(editor, item.id, a, "u-b")
            return item, a
        if state is AssignmentState.CANCELLED:
            return qd.cancel_assignment(editor, item.id, a, "撤销"), a
        item = qd.accept(unit, item.id, a)
        if state is AssignmentState.ACCEPTED:
            return item, a
        if state is AssignmentState.EXTENSION_REQUESTED:
            return qd.request_extension(unit, item.id, a, 5, "情况复杂"), a
        item = qd.reply(unit, item.id, a, "答复")
        assert state is AssignmentState.REPLIED
        return qd.rate(self.author, item.id, a, Rating.DISSATISFIED), a


def _actor(setup: Setup, role: Role, unit_id: str = "u-a") -> Actor:
    if role in SUBMITTER_ROLES:
        return setup.author if setup.author.role is role else Actor("other", role, COUNTY)
    if role is Role.HANDLING_UNIT:
        return setup.unit(unit_id)
    return setup.staff[role]


def _item_call(
    setup: Setup, item: Item, command: ItemCommand, actor: Actor
) -> Callable[[], object]:
    qd = setup.qd
    replied = next((a.id for a in item.assignments if a.replies), "none")
    calls: dict[ItemCommand, Callable[[], object]] = {
        ItemCommand.EDIT_DRAFT: lambda: qd.edit_draft(actor, item.id, title="新标题"),
        ItemCommand.SUBMIT: lambda: qd.submit(actor, item.id),
        ItemCommand.WITHDRAW: lambda: qd.withdraw(actor, item.id),
        ItemCommand.RESUBMIT: lambda: qd.resubmit(actor, item.id),
        ItemCommand.PASS_PRELIMINARY: lambda: qd.pass_preliminary(
            actor, item.id, destinations=["forward_to_departments"]
        ),
        ItemCommand.RETURN_FOR_REVISION: lambda: qd.return_for_revision(actor, item.id, "理由"),
        ItemCommand.REJECT: lambda: qd.reject(actor, item.id, "理由"),
        ItemCommand.MERGE: lambda: qd.merge(actor, item.id, setup.submitted().id),
        ItemCommand.APPROVE: lambda: qd.approve(actor, item.id),
        ItemCommand.SEND_BACK: lambda: qd.send_back(actor, item.id, "理由"),
        ItemCommand.SIGN: lambda: qd.sign(actor, item.id),
        ItemCommand.ASSIGN: lambda: qd.assign(actor, item.id, ["u-c"]),
        ItemCommand.RATE: lambda: qd.rate(actor, item.id, replied, Rating.SATISFIED),
        ItemCommand.REHANDLE: lambda: qd.order_rehandle(actor, item.id, replied, "理由"),
        ItemCommand.CLOSE: lambda: qd.close(actor, item.id),
        ItemCommand.RECORD_FEEDBACK: lambda: qd.record_implementation(
            actor, item.id, date(2026, 11, 2), "落实"
        ),
        ItemCommand.SET_PUBLICATION_CONSENT: lambda: qd.set_publication_consent(
            actor, item.id, False
        ),
        ItemCommand.RECLASSIFY: lambda: qd.reclassify(actor, item.id, True, "理由"),
        ItemCommand.REPORT_UP: lambda: qd.report_up(actor, item.id, CITY),
    }
    return calls[command]


# ALL_REPLIED is not a command anyone calls: the service applies it when the last reply arrives.
ITEM_COMMANDS = [c for c in ItemCommand if c is not ItemCommand.ALL_REPLIED]


@pytest.mark.parametrize("state", list(ItemState), ids=lambda s: s.value)
def test_every_item_command_by_every_role(state: ItemState) -> None:
    outcomes = {"ok": 0, "refused": 0}
    for author_role in sorted(SUBMITTER_ROLES, key=lambda r: r.value):
        for command, role in itertools.product(ITEM_COMMANDS, Role):
            if role in SUBMITTER_ROLES and role is not author_role:
                continue
            setup = Setup(author_role)
            item = setup.build(state)
            assert item.state is state
            actor = _actor(setup, role)
            allowed = (state, command, role) in ITEM_TRANSITIONS
            if command is ItemCommand.SIGN and role in SIGNER_ROLES:
                # the fixture needs the office head; higher signers may sign by default
                higher = RuleSet().tiers.allow_higher_signer
                allowed = allowed and (role is Role.OFFICE_HEAD or higher)
            try:
                _item_call(setup, item, command, actor)()
            except QiandaoError as error:
                assert not allowed, f"{state.value} {command.value} {role.value}: {error}"
                assert setup.load(item.id) == item, "a refused command changed the item"
                outcomes["refused"] += 1
            else:
                assert allowed, f"{state.value} {command.value} {role.value} should be refused"
                outcomes["ok"] += 1
    assert outcomes["refused"] > 0
    expected_ok = any(key[0] is state for key in ITEM_TRANSITIONS)
    assert (outcomes["ok"] > 0) == expected_ok


def _assignment_call(
    setup: Setup, item: Item, a: str, command: AssignmentCommand, actor: Actor
) -> Callable[[], object]:
    qd = setup.qd
    calls: dict[AssignmentCommand, Callable[[], object]] = {
        AssignmentCommand.ACCEPT: lambda: qd.accept(actor, item.id, a),
        AssignmentCommand.DECLINE: lambda: qd.decline(actor, item.id, a, "理由"),
        AssignmentCommand.REQUEST_EXTENSION: lambda: qd.request_extension(
            actor, item.id, a, 5, "理由"
        ),
        AssignmentCommand.APPROVE_EXTENSION: lambda: qd.approve_extension(actor, item.id, a),
        AssignmentCommand.REFUSE_EXTENSION: lambda: qd.refuse_extension(actor, item.id, a, "理由"),
        AssignmentCommand.REASSIGN: lambda: qd.reassign(actor, item.id, a, "u-d"),
        AssignmentCommand.OVERRULE: lambda: qd.overrule(actor, item.id, a, "理由"),
        AssignmentCommand.REPLY: lambda: qd.reply(actor, item.id, a, "答复"),
        AssignmentCommand.REHANDLE: lambda: qd.order_rehandle(actor, item.id, a, "理由"),
        AssignmentCommand.CANCEL: lambda: qd.cancel_assignment(actor, item.id, a, "理由"),
    }
    return calls[command]


@pytest.mark.parametrize("state", list(AssignmentState), ids=lambda s: s.value)
def test_every_assignment_command_by_every_role(state: AssignmentState) -> None:
    for command, role in itertools.product(AssignmentCommand, Role):
        setup = Setup(Role.MEMBER)
        item, a = setup.build_assignment(state)
        actor = _actor(setup, role)
        allowed = (state, command, role) in ASSIGNMENT_TRANSITIONS
        try:
            _assignment_call(setup, item, a, command, actor)()
        except QiandaoError as error:
            assert not allowed, f"{state.value} {command.value} {role.value}: {error}"
            assert setup.load(item.id) == item
        else:
            assert allowed, f"{state.value} {command.value} {role.value} should be refused"


def test_another_unit_is_refused_everywhere() -> None:
    for state, command in itertools.product(AssignmentState, AssignmentCommand):
        setup = Setup(Role.MEMBER)
        item, a = setup.build_assignment(state)
        with pytest.raises(QiandaoError) as err:
            _assignment_call(setup, item, a, command, setup.unit("u-c"))()
        assert err.value.code in {"not_found", "permission.denied"}
        assert setup.load(item.id) == item
