"""Allowed actions (issue 11): an action is offered exactly when running it succeeds.

The property: for a random workflow state (a random walk of commands by whoever may run them,
with time passing between them) and a random actor, ``allowed_actions`` lists an action iff
running that command with valid input, on a copy of the store, raises nothing. Every candidate
command is run, offered or not, so an action missing from the list fails the test as surely as
one wrongly offered. The scenarios below pin the two faults the issue names (签发 offered to the
office head on an item only the chair may sign; 评价 offered to a member who did not write it)
and what a view shows of names, to whom.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from qiandao import (
    Account,
    Actor,
    AllowedAction,
    AssignmentCommand,
    Destination,
    ItemCommand,
    ItemView,
    NotFound,
    Qiandao,
    QiandaoError,
    Rating,
    Role,
    RoleGrant,
    Unit,
    structure,
    unstructure,
)
from qiandao.model import Item
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import ASSIGNMENT_TRANSITIONS, ITEM_TRANSITIONS
from qiandao.rules.ruleset import RuleSet
from qiandao.testing import ManualClock
from qiandao.workflow.actions import PROBE_REASON
from qiandao_adapters.memory import MemoryStore
from tests.helpers import DH, ZS, at
from tests.wrappers import DelegatingUnitOfWork

R = PROBE_REASON
FORWARD = Destination.FORWARD_TO_DEPARTMENTS
PRINCIPAL = Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE

ACTORS: dict[str, Actor] = {
    "member": Actor("m1", Role.MEMBER, ZS),
    "coauthor": Actor("m2", Role.MEMBER, ZS),
    "stranger": Actor("m3", Role.MEMBER, ZS),
    "officer": Actor("io", Role.INFO_OFFICER, ZS),
    # one person, two grants: writes as a member, reviews as an editor (self-review)
    "writer": Actor("xe", Role.MEMBER, ZS),
    "writer_editor": Actor("xe", Role.EDITOR, ZS),
    "editor": Actor("e1", Role.EDITOR, ZS),
    "deputy": Actor("d1", Role.DEPUTY, ZS),
    "head": Actor("h1", Role.OFFICE_HEAD, ZS),
    "secretary": Actor("sg", Role.SECRETARY_GENERAL, ZS),
    "chair": Actor("ch", Role.CHAIR, ZS),
    "unit_a": Actor("ua", Role.HANDLING_UNIT, ZS, unit_id="u-a"),
    "unit_b": Actor("ub", Role.HANDLING_UNIT, ZS, unit_id="u-b"),
    "admin": Actor("sa", Role.SYSTEM_ADMIN, ZS),
    "dh_member": Actor("dm", Role.MEMBER, DH),
    "dh_editor": Actor("de", Role.EDITOR, DH),
    "dh_deputy": Actor("dd", Role.DEPUTY, DH),
    "dh_head": Actor("dh", Role.OFFICE_HEAD, DH),
    "dh_unit": Actor("udh", Role.HANDLING_UNIT, DH, unit_id="u-dh"),
}
NAMES = {actor.account_id: f"姓名{actor.account_id}" for actor in ACTORS.values()}
MERGE_AUTHORS = {ZS: Actor("tm", Role.MEMBER, ZS), DH: Actor("dtm", Role.MEMBER, DH)}
RULES = {ZS: RuleSet.zhoushan(), DH: RuleSet(jurisdiction=DH, name="定海区政协")}
UNITS = (
    Unit("u-a", "市自然资源和规划局", ZS),
    Unit("u-b", "市海洋与渔业局", ZS),
    Unit("u-c", "市人力社保局", ZS),
    Unit("u-dh", "定海区农业农村局", DH),
)


def world(store: MemoryStore | Any = None) -> tuple[Qiandao, ManualClock]:
    """A service over a store with every actor's account and the units."""
    store = store if store is not None else MemoryStore()
    clock = ManualClock(at(2026, 3, 2))
    grants: dict[str, list[RoleGrant]] = {}
    homes: dict[str, str] = {}
    for actor in (*ACTORS.values(), *MERGE_AUTHORS.values()):
        grants.setdefault(actor.account_id, []).append(actor.grant)
        homes.setdefault(actor.account_id, actor.jurisdiction)
    with store.unit_of_work() as uow:
        for unit in UNITS:
            uow.units.add(unit)
        for account_id, held in grants.items():
            name = NAMES.get(account_id, account_id)
            account = Account(account_id, 1, name, tuple(held), homes[account_id], clock.now())
            uow.accounts.add(account)
        uow.commit()
    return Qiandao(store, clock=clock, rules=RULES, hasher=None), clock


def _copied(table: Any) -> Any:
    """A table of the memory store's data, copied deep enough that writes to it stay there."""
    if isinstance(table, list):
        return list(table)
    return {key: list(v) if isinstance(v, list) else v for key, v in table.items()}


def copy_of(qd: Qiandao) -> Qiandao:
    """The same service over a copy of its memory store: a command tried there changes nothing
    here."""
    source = qd.store
    assert isinstance(source, MemoryStore)
    clone = MemoryStore()
    data = source._data
    copied: dict[str, Any] = {
        field.name: _copied(getattr(data, field.name)) for field in attrs.fields(type(data))
    }
    clone._data = attrs.evolve(data, **copied)
    return Qiandao(clone, clock=qd.clock, calendar=qd.calendar, rules=RULES, hasher=None)


# --- running a candidate command with valid input ---------------------------------------------


def _fresh_unit(qd: Qiandao, item: Item) -> str:
    """A unit of the item's jurisdiction that is on no assignment of it (added if needed)."""
    busy = {a.unit_id for a in item.assignments}
    for unit in UNITS:
        if unit.jurisdiction == item.jurisdiction and unit.id not in busy:
            return unit.id
    fresh = f"u-new-{len(item.assignments)}"
    with qd.store.unit_of_work() as uow:
        if fresh not in {u.id for u in uow.units.list(item.jurisdiction)}:
            uow.units.add(Unit(fresh, "新设单位", item.jurisdiction))
            uow.commit()
    return fresh


def _merge_target(qd: Qiandao, item: Item) -> str:
    author = MERGE_AUTHORS[item.jurisdiction]
    data = {"title": "合并目标", "body": "另一条信息。", "category": "hot_issue"}
    return qd.submit_new(author, data).id


def _today(qd: Qiandao) -> date:
    return local_day(qd.now())


Runner = Callable[[Qiandao, Actor, Item, str | None], object]

ITEM_RUNS: dict[ItemCommand, Runner] = {
    ItemCommand.EDIT_DRAFT: lambda q, a, i, _: q.edit_draft(a, i.id),
    ItemCommand.SUBMIT: lambda q, a, i, _: q.submit(a, i.id),
    ItemCommand.WITHDRAW: lambda q, a, i, _: q.withdraw(a, i.id),
    ItemCommand.RESUBMIT: lambda q, a, i, _: q.resubmit(a, i.id),
    ItemCommand.PASS_PRELIMINARY: lambda q, a, i, _: q.pass_preliminary(
        a, i.id, destinations=i.destinations or {FORWARD}
    ),
    ItemCommand.RETURN_FOR_REVISION: lambda q, a, i, _: q.return_for_revision(a, i.id, R),
    ItemCommand.REJECT: lambda q, a, i, _: q.reject(a, i.id, R),
    ItemCommand.MERGE: lambda q, a, i, _: q.merge(a, i.id, _merge_target(q, i)),
    ItemCommand.APPROVE: lambda q, a, i, _: q.approve(a, i.id),
    ItemCommand.SEND_BACK: lambda q, a, i, _: q.send_back(a, i.id, R),
    ItemCommand.SIGN: lambda q, a, i, _: q.sign(a, i.id),
    ItemCommand.ASSIGN: lambda q, a, i, _: q.assign(a, i.id, [_fresh_unit(q, i)]),
    ItemCommand.CLOSE: lambda q, a, i, _: q.close(a, i.id),
    ItemCommand.RECORD_FEEDBACK: lambda q, a, i, _: q.record_implementation(a, i.id, _today(q), R),
    ItemCommand.SET_PUBLICATION_CONSENT: lambda q, a, i, _: q.set_publication_consent(
        a, i.id, a.account_id in i.opted_out
    ),
    ItemCommand.RECLASSIFY: lambda q, a, i, _: q.reclassify(a, i.id, i.secret, R),
    ItemCommand.REPORT_UP: lambda q, a, i, _: q.report_up(a, i.id),
}
_AC = AssignmentCommand
ASSIGNMENT_RUNS: dict[ItemCommand | AssignmentCommand, Runner] = {
    ItemCommand.RATE: lambda q, a, i, x: q.rate(a, i.id, str(x), Rating.SATISFIED),
    _AC.ACCEPT: lambda q, a, i, x: q.accept(a, i.id, str(x)),
    _AC.DECLINE: lambda q, a, i, x: q.decline(a, i.id, str(x), R),
    _AC.REQUEST_EXTENSION: lambda q, a, i, x: q.request_extension(a, i.id, str(x), 1, R),
    _AC.APPROVE_EXTENSION: lambda q, a, i, x: q.approve_extension(a, i.id, str(x)),
    _AC.REFUSE_EXTENSION: lambda q, a, i, x: q.refuse_extension(a, i.id, str(x), R),
    _AC.REASSIGN: lambda q, a, i, x: q.reassign(a, i.id, str(x), _fresh_unit(q, i)),
    _AC.OVERRULE: lambda q, a, i, x: q.overrule(a, i.id, str(x), R),
    _AC.REPLY: lambda q, a, i, x: q.reply(a, i.id, str(x), R),
    _AC.REHANDLE: lambda q, a, i, x: q.order_rehandle(a, i.id, str(x), R),
    _AC.CANCEL: lambda q, a, i, x: q.cancel_assignment(a, i.id, str(x), R),
}


def test_every_command_a_caller_runs_on_an_item_is_a_candidate() -> None:
    """No command of the tables escapes the property (ALL_REPLIED is the system's own)."""
    item_commands = {c for (_, c, _) in ITEM_TRANSITIONS} - {ItemCommand.ALL_REPLIED}
    assert item_commands == set(ITEM_RUNS) | {ItemCommand.RATE, ItemCommand.REHANDLE}
    assert {c for (_, c, _) in ASSIGNMENT_TRANSITIONS} <= set(ASSIGNMENT_RUNS)


def candidates(item: Item) -> list[tuple[AllowedAction, Runner]]:
    """Every command on the item and on each of its assignments, in the order of the answer."""
    found = [(AllowedAction(c), run) for c, run in ITEM_RUNS.items()]
    for assignment in item.assignments:
        for command, run in ASSIGNMENT_RUNS.items():
            found.append((AllowedAction(command, assignment.id), run))
    return found


def succeeds(qd: Qiandao, actor: Actor, item: Item, action: AllowedAction, run: Runner) -> bool:
    """Whether the command runs on a copy of the store (the original is left as it is)."""
    try:
        run(copy_of(qd), actor, item, action.assignment_id)
    except QiandaoError:
        return False
    return True


def load(qd: Qiandao, item_id: str) -> Item:
    with qd.store.unit_of_work() as uow:
        return uow.items.get(item_id)


def offered(qd: Qiandao, actor: Actor, item_id: str) -> tuple[AllowedAction, ...]:
    try:
        return qd.allowed_actions(actor, item_id)
    except NotFound:  # an item the actor cannot see offers nothing
        return ()


# --- the property -----------------------------------------------------------------------------

AUTHORS = ("member", "writer", "officer", "dh_member")
FORWARD_STEPS = frozenset(
    {
        ItemCommand.SUBMIT,
        ItemCommand.RESUBMIT,
        ItemCommand.PASS_PRELIMINARY,
        ItemCommand.APPROVE,
        ItemCommand.SIGN,
        ItemCommand.ASSIGN,
        ItemCommand.RATE,
        AssignmentCommand.ACCEPT,
        AssignmentCommand.REPLY,
    }
)
"""The steps that take an item on; the walk prefers them so it reaches handling and rating."""


def able(item: Item, action: AllowedAction) -> list[Actor]:
    """The actors whose role the transition tables let run ``action`` in the current state
    (the walk tries only these; the property itself tries everyone)."""
    command = action.command
    if isinstance(command, ItemCommand):
        roles = {r for (s, c, r) in ITEM_TRANSITIONS if s is item.state and c is command}
    else:
        assignment = item.assignment(str(action.assignment_id))
        assert assignment is not None
        roles = {
            r for (s, c, r) in ASSIGNMENT_TRANSITIONS if s is assignment.state and c is command
        }
    return [actor for actor in ACTORS.values() if actor.role in roles]


@st.composite
def walks(draw: st.DrawFn) -> tuple[Qiandao, str]:
    """A random workflow state of one item: drafted or submitted by a random author with
    random flags, then a random walk of commands (each run by the first actor, in a random
    order, for whom it succeeds) and of waits of a few days."""
    qd, clock = world()
    author = ACTORS[draw(st.sampled_from(AUTHORS))]
    peers = [a.account_id for a in ACTORS.values() if a.role is Role.MEMBER and a is not author]
    coauthors = [
        p for p in peers if ACTORS["coauthor"].account_id == p and author.jurisdiction == ZS
    ]
    data = {
        "title": "海岛渔民养老保险",
        "body": "渔民反映养老保险缴费年限计算不一致。",
        "category": "hot_issue",
        "urgent": draw(st.booleans()),
        "secret": draw(st.booleans()),
        "publish": draw(st.booleans()),
        "coauthor_ids": coauthors if draw(st.booleans()) else [],
    }
    start = qd.submit_new if draw(st.booleans()) else qd.draft
    item_id = start(author, data).id
    for _ in range(draw(st.integers(0, 20))):
        if draw(st.integers(0, 4)) == 0:
            clock.advance(days=draw(st.integers(1, 25)))
            continue
        item = load(qd, item_id)
        steps = [(a, r, who) for a, r in candidates(item) if (who := able(item, a))]
        if not steps:
            break
        onward = [step for step in steps if step[0].command in FORWARD_STEPS]
        prefer_onward = bool(onward) and draw(st.integers(0, 3)) > 0
        action, run, able_actors = draw(st.sampled_from(onward if prefer_onward else steps))
        destinations = draw(st.sets(st.sampled_from(list(Destination)), min_size=1))
        rating = draw(st.sampled_from([Rating.DISSATISFIED, Rating.SATISFIED]))
        for actor in draw(st.permutations(able_actors)):
            try:
                if action.command is ItemCommand.PASS_PRELIMINARY:
                    qd.pass_preliminary(actor, item_id, destinations=destinations)
                elif action.command is ItemCommand.RATE:
                    qd.rate(actor, item_id, str(action.assignment_id), rating)
                else:
                    run(qd, actor, item, action.assignment_id)
            except QiandaoError:
                continue
            break
    return qd, item_id


@settings(max_examples=min(settings().max_examples, 80))  # CI: bounded (each ~0.1 s)
@given(walks(), st.data())
def test_an_action_is_offered_exactly_when_running_it_succeeds(
    walk: tuple[Qiandao, str], data: st.DataObject
) -> None:
    qd, item_id = walk
    item = load(qd, item_id)
    involved = sorted(
        {a.account_id + a.role.value: a for c in candidates(item) for a in able(item, c[0])}.items()
    )
    if bool(involved) and data.draw(st.booleans()):  # often someone the tables let act
        actor = data.draw(st.sampled_from([a for _, a in involved]))
    else:
        actor = data.draw(st.sampled_from(list(ACTORS.values())))
    who = f"{actor.account_id}/{actor.role.value}"
    expected = tuple(
        action for action, run in candidates(item) if succeeds(qd, actor, item, action, run)
    )
    event(f"{item.state.value} {len(item.assignments)} assignments, {len(expected)} allowed")
    event("assignment states: " + ",".join(sorted({a.state.value for a in item.assignments})))
    assert offered(qd, actor, item_id) == expected, (item.state, who)
    assert load(qd, item_id) == item  # asking changes nothing


# --- scenarios: the faults of the issue, and names ----------------------------------------------


def _issued(qd: Qiandao, destinations: set[Destination]) -> str:
    data = {
        "title": "海岛渔民养老保险",
        "body": "渔民反映养老保险缴费年限计算不一致。",
        "category": "hot_issue",
        "coauthor_ids": [ACTORS["coauthor"].account_id],
    }
    item = qd.submit_new(ACTORS["member"], data)
    qd.pass_preliminary(ACTORS["editor"], item.id, destinations=destinations)
    qd.approve(ACTORS["deputy"], item.id)
    return item.id


def commands(actions: tuple[AllowedAction, ...]) -> set[ItemCommand | AssignmentCommand]:
    return {a.command for a in actions}


def test_only_the_tier_signer_is_offered_to_sign() -> None:
    qd, _ = world()
    item_id = _issued(qd, {FORWARD, PRINCIPAL})
    assert ItemCommand.SIGN not in commands(qd.allowed_actions(ACTORS["head"], item_id))
    assert ItemCommand.SIGN not in commands(qd.allowed_actions(ACTORS["secretary"], item_id))
    assert ItemCommand.SIGN in commands(qd.allowed_actions(ACTORS["chair"], item_id))


def test_only_the_author_is_offered_to_rate_and_a_unit_only_its_own_assignment() -> None:
    qd, _ = world()
    item_id = _issued(qd, {FORWARD})
    qd.sign(ACTORS["head"], item_id)
    item = qd.assign(ACTORS["editor"], item_id, [("u-a", True), "u-b"])
    mine, theirs = item.assignments
    assert qd.allowed_actions(ACTORS["unit_a"], item_id) == (
        AllowedAction(AssignmentCommand.ACCEPT, mine.id),
        AllowedAction(AssignmentCommand.DECLINE, mine.id),
    )
    qd.accept(ACTORS["unit_a"], item_id, mine.id)
    qd.reply(ACTORS["unit_a"], item_id, mine.id, "已答复")
    rate_mine = AllowedAction(ItemCommand.RATE, mine.id)
    assert rate_mine in qd.allowed_actions(ACTORS["member"], item_id)
    assert AllowedAction(ItemCommand.RATE, theirs.id) not in qd.allowed_actions(
        ACTORS["member"], item_id
    )  # nothing replied there yet
    for who in ("coauthor", "stranger"):  # co-authors rate only where the rules say so
        assert ItemCommand.RATE not in commands(offered(qd, ACTORS[who], item_id))


def test_views_name_what_the_actor_may_see_in_one_directory_call() -> None:
    qd, _ = world()
    item_id = _issued(qd, {FORWARD})
    qd.sign(ACTORS["head"], item_id)
    qd.assign(ACTORS["editor"], item_id, [("u-a", True)])
    editor_view = qd.item_detail(ACTORS["editor"], item_id)
    assert editor_view.jurisdiction_name == "舟山市"  # the stored jurisdiction's name
    assert editor_view.names[ACTORS["member"].account_id] == NAMES["m1"]
    assert editor_view.names[ACTORS["coauthor"].account_id] == NAMES["m2"]
    assert editor_view.names[ACTORS["deputy"].account_id] == NAMES["d1"]  # a reviewer
    assert editor_view.destinations == (FORWARD,)
    assert editor_view.submitted_at is not None and editor_view.version > 0
    assert [a.unit_name for a in editor_view.assignments] == ["市自然资源和规划局"]
    assert editor_view.actions == qd.allowed_actions(ACTORS["editor"], item_id)
    unit_view = qd.item_detail(ACTORS["unit_a"], item_id)  # authors are withheld from a unit
    assert unit_view.names == {} and unit_view.lead_author_id is None
    assert unit_view.assignments[0].unit_name == "市自然资源和规划局"
    assert commands(unit_view.actions) == {AssignmentCommand.ACCEPT, AssignmentCommand.DECLINE}
    other_unit = qd.item_detail(ACTORS["unit_b"], item_id)  # a published reader, not assigned
    assert set(other_unit.names) == {"m1", "m2"}  # the published authors; no reviewer, no editor
    assert other_unit.assignments == () and other_unit.actions == ()
    stranger = qd.item_detail(ACTORS["stranger"], item_id)
    assert set(stranger.names) == {"m1", "m2"} and stranger.actions == ()


class CountingStore:
    """A store that counts the directory calls made through it."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.calls = 0

    def unit_of_work(self) -> Any:
        return _CountingUnitOfWork(self.inner.unit_of_work(), self)


class _CountingDirectory:
    def __init__(self, inner: Any, store: CountingStore) -> None:
        self._inner = inner
        self._store = store

    def names(self, account_ids: Any, unit_ids: Any) -> Any:
        self._store.calls += 1
        return self._inner.names(account_ids, unit_ids)


class _CountingUnitOfWork(DelegatingUnitOfWork):
    def __init__(self, inner: Any, store: CountingStore) -> None:
        super().__init__(inner)
        self._store = store

    @property
    def directory(self) -> _CountingDirectory:
        return _CountingDirectory(self._inner.directory, self._store)


def test_a_list_reads_its_names_in_one_call() -> None:
    qd, clock = world()
    for _ in range(3):
        qd.sign(ACTORS["head"], _issued(qd, {FORWARD}))
    assert isinstance(qd.store, MemoryStore)
    counting = CountingStore(qd.store)
    listing = Qiandao(counting, clock=clock, calendar=qd.calendar, rules=RULES, hasher=None)
    views = listing.my_items(ACTORS["member"]).items
    assert len(views) == 3 and counting.calls == 1
    assert all(v.names[ACTORS["member"].account_id] == NAMES["m1"] for v in views)
    page = listing.published(ACTORS["stranger"])
    assert len(page.items) == 3 and counting.calls == 2


def test_windows_and_deadlines_close_what_they_close() -> None:
    """申退 only within the decline window, 申请延期 only before the deadline, 评价 only while
    the rating window is open, 办结 only once no rating window is open and unrated."""
    qd, clock = world()
    item_id = _issued(qd, {FORWARD})
    qd.sign(ACTORS["head"], item_id)
    (a,) = qd.assign(ACTORS["editor"], item_id, [("u-a", True)]).assignments
    unit = ACTORS["unit_a"]
    assert AllowedAction(AssignmentCommand.DECLINE, a.id) in qd.allowed_actions(unit, item_id)
    clock.advance(days=7)  # past the 3 working days of the decline window
    assert commands(qd.allowed_actions(unit, item_id)) == {AssignmentCommand.ACCEPT}
    qd.accept(unit, item_id, a.id)
    assert AssignmentCommand.REQUEST_EXTENSION in commands(qd.allowed_actions(unit, item_id))
    clock.advance(days=21)  # past the 15th working day
    assert commands(qd.allowed_actions(unit, item_id)) == {AssignmentCommand.REPLY}
    qd.reply(unit, item_id, a.id, "已答复")
    member, editor = ACTORS["member"], ACTORS["editor"]
    assert AllowedAction(ItemCommand.RATE, a.id) in qd.allowed_actions(member, item_id)
    assert ItemCommand.CLOSE not in commands(qd.allowed_actions(editor, item_id))
    clock.advance(days=30)  # the rating window has closed, unrated
    assert ItemCommand.RATE not in commands(qd.allowed_actions(member, item_id))
    assert ItemCommand.CLOSE in commands(qd.allowed_actions(editor, item_id))


def test_self_review_and_jurisdiction_are_applied() -> None:
    qd, _ = world()
    data = {"title": "标题", "body": "正文。", "category": "hot_issue"}
    item = qd.submit_new(ACTORS["writer"], data)
    reviews = {
        ItemCommand.PASS_PRELIMINARY,
        ItemCommand.RETURN_FOR_REVISION,
        ItemCommand.REJECT,
        ItemCommand.MERGE,
    }
    assert not reviews & commands(qd.allowed_actions(ACTORS["writer_editor"], item.id))
    assert reviews <= commands(qd.allowed_actions(ACTORS["editor"], item.id))
    assert ItemCommand.PASS_PRELIMINARY in commands(qd.allowed_actions(ACTORS["editor"], item.id))
    with pytest.raises(NotFound):  # another jurisdiction's office does not see it
        qd.allowed_actions(ACTORS["dh_editor"], item.id)
    with pytest.raises(NotFound):  # nor does an administrator
        qd.allowed_actions(ACTORS["admin"], item.id)


def test_asking_about_a_non_public_item_is_audited_as_a_read() -> None:
    qd, _ = world()
    data = {"title": "标题", "body": "正文。", "category": "hot_issue", "secret": True}
    item = qd.submit_new(ACTORS["member"], data)
    qd.allowed_actions(ACTORS["editor"], item.id)
    with qd.store.unit_of_work() as uow:
        records = [r for shard in uow.audit.shards() for r in uow.audit.records(shard)]
    (asked,) = [r.entry for r in records if r.entry.action == "allowed_actions"]
    assert asked.account_id == ACTORS["editor"].account_id
    assert item.id in asked.targets and asked.secret


@pytest.mark.parametrize(
    "action",
    [
        AllowedAction(AssignmentCommand.REHANDLE, "a-1"),  # a value both enums have
        AllowedAction(ItemCommand.RATE, "a-1"),
        AllowedAction(ItemCommand.SIGN),
    ],
)
def test_an_action_reads_back_from_its_wire_form(action: AllowedAction) -> None:
    assert structure(unstructure(action), AllowedAction) == action


def test_a_view_reads_back_from_its_wire_form() -> None:
    qd, _ = world()
    item_id = _issued(qd, {FORWARD})
    qd.sign(ACTORS["head"], item_id)
    qd.assign(ACTORS["editor"], item_id, [("u-a", True)])
    for who in ("editor", "unit_a", "member"):
        view = qd.item_detail(ACTORS[who], item_id)
        assert structure(unstructure(view), ItemView) == view
