"""Random command sequences by random actors through the service, checked after every step.

Invariants: only legal transitions; every issued item carries 初审, deputy review and a signature
of the required tier in order; published ⇒ adopted ∧ not 涉密 ∧ no opt-out; no deadline earlier
than 15 working days after assignment; a unit never sees an item not assigned to it; replaying an
item's events rebuilds it; a refused command changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from qiandao import (
    SHANGHAI,
    Account,
    Actor,
    AdoptionLevel,
    Assignment,
    AssignmentState,
    Item,
    ItemState,
    LeaderRank,
    NotFound,
    Period,
    Qiandao,
    QiandaoError,
    Rating,
    ReviewDecision,
    ReviewStage,
    Role,
    RuleSet,
    StatisticsQuery,
    Unit,
    bulletin,
    replay,
    statistics_of,
)
from qiandao.ports.store import ItemQuery, Store
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import ITEM_TRANSITIONS, ItemCommand
from qiandao.rules.tiers import check_signer, required_signer
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing import ManualClock
from qiandao_adapters.memory import MemoryStore
from tests.bulletin_reference import reference_bulletin

CALENDAR = ChinaWorkdays.official()
RULES = RuleSet.zhoushan()
J = "zhoushan"

ACTORS = {
    "m1": Actor("m1", Role.MEMBER, J),
    "m2": Actor("m2", Role.MEMBER, J),
    "o1": Actor("o1", Role.INFO_OFFICER, J),
    "e1": Actor("e1", Role.EDITOR, J),
    "e9": Actor("e9", Role.EDITOR, "zhoushan.putuo"),
    "d1": Actor("d1", Role.DEPUTY, J),
    "h1": Actor("h1", Role.OFFICE_HEAD, J),
    "s1": Actor("s1", Role.SECRETARY_GENERAL, J),
    "c1": Actor("c1", Role.CHAIR, J),
    "u1": Actor("u1", Role.HANDLING_UNIT, J, "unit-1"),
    "u2": Actor("u2", Role.HANDLING_UNIT, J, "unit-2"),
    "u3": Actor("u3", Role.HANDLING_UNIT, J, "unit-3"),
    "a1": Actor("a1", Role.SYSTEM_ADMIN, J),
}
UNITS = ("unit-1", "unit-2", "unit-3")
UNIT_ACTORS = [a for a in ACTORS.values() if a.role is Role.HANDLING_UNIT]
actors = st.sampled_from(sorted(ACTORS))
# "@author" is the item's lead author and "@unit" the unit of the chosen assignment: the right
# actor half of the time, anybody the other half, so that both paths are exercised.
AUTHOR, UNIT = "@author", "@unit"


def mostly(*right: str) -> st.SearchStrategy[str]:
    """The right actors half of the time, any actor otherwise."""
    return st.one_of(st.sampled_from(right), actors)


texts = st.text(
    alphabet=st.sampled_from("海岛渔民养老保险交通医疗教育'\";--%_😀 "), min_size=0, max_size=12
)
reasons = st.one_of(st.just(""), st.just("不属于本单位职责范围"), texts)
destinations = st.lists(
    st.sampled_from(
        [
            "forward_to_departments",
            "report_to_city_leaders",
            "report_to_principal_leaders_and_province",
        ]
    ),
    min_size=0,
    max_size=3,
)

# Item-level commands whose success moves the item exactly as the transition table says.
TABLE_COMMANDS: dict[str, ItemCommand] = {
    "submit": ItemCommand.SUBMIT,
    "withdraw": ItemCommand.WITHDRAW,
    "resubmit": ItemCommand.RESUBMIT,
    "pass_preliminary": ItemCommand.PASS_PRELIMINARY,
    "return_for_revision": ItemCommand.RETURN_FOR_REVISION,
    "reject": ItemCommand.REJECT,
    "approve": ItemCommand.APPROVE,
    "send_back": ItemCommand.SEND_BACK,
    "sign": ItemCommand.SIGN,
    "close": ItemCommand.CLOSE,
}


def _memory_store() -> Store:
    return MemoryStore()


STORE_FACTORY: Callable[[], Store] = _memory_store


class WorkflowMachine(RuleBasedStateMachine):
    """Drives :class:`Qiandao` with random commands by random actors."""

    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2026, 9, 21, 9, tzinfo=SHANGHAI))
        self.store = STORE_FACTORY()
        self.qd = Qiandao(self.store, clock=self.clock, calendar=CALENDAR, rules=RULES)
        self.known: set[str] = set()

    @initialize()
    def add_units(self) -> None:
        with self.store.unit_of_work() as uow:
            for unit_id in UNITS:
                uow.units.add(Unit(unit_id, f"承办单位{unit_id}", J))
            for actor in ACTORS.values():
                uow.accounts.add(
                    Account(
                        id=actor.account_id,
                        version=1,
                        real_name=f"用户{actor.account_id}",
                        role=actor.role,
                        jurisdiction=actor.jurisdiction,
                        created_at=self.clock.now(),
                        unit_id=actor.unit_id,
                    )
                )
            uow.commit()

    # --- helpers --------------------------------------------------------------------------

    def load(self, item_id: str) -> Item:
        with self.store.unit_of_work() as uow:
            return uow.items.get(item_id)

    def actor(self, who: str, item_id: str, unit_id: str | None = None) -> Actor:
        """Resolve the sentinels to a concrete actor."""
        if who == AUTHOR:
            return ACTORS[self.load(item_id).lead_author_id]
        if who == UNIT:
            return next(a for a in UNIT_ACTORS if a.unit_id == unit_id)
        return ACTORS[who]

    def attempt(self, item_id: str, name: str, call: Callable[[], Item], actor: Actor) -> None:
        """Run a command; on refusal, nothing changed; on success, the table was obeyed."""
        before = self.load(item_id)
        try:
            after = call()
        except QiandaoError as error:
            assert error.code, error
            unchanged = self.load(item_id)
            assert unchanged == before, f"{name} refused with {error.code} but changed the item"
            return
        command = TABLE_COMMANDS.get(name)
        if command is not None:
            assert ITEM_TRANSITIONS[(before.state, command, actor.role)] == after.state

    # --- rules ----------------------------------------------------------------------------

    @rule(
        target=items,
        who=mostly("m1", "m2", "o1"),
        title=texts,
        urgent=st.booleans(),
        secret=st.booleans(),
        publish=st.booleans(),
        submit=st.booleans(),
    )
    def draft(
        self, who: str, title: str, urgent: bool, secret: bool, publish: bool, submit: bool
    ) -> str:
        actor = ACTORS[who]
        payload: dict[str, Any] = {
            "title": title or "关于海岛交通的建议",
            "body": f"正文 {title}",
            "category": "hot_issue",
            "urgent": urgent,
            "secret": secret,
            "publish": publish,
            "coauthor_ids": ["m2"] if who == "m1" else [],
        }
        try:
            item = self.qd.submit_new(actor, payload) if submit else self.qd.draft(actor, payload)
        except QiandaoError as error:
            assert actor.role not in (Role.MEMBER, Role.INFO_OFFICER) or not title.strip(), error
            return "missing"
        self.known.add(item.id)
        return item.id

    @rule(
        item=items,
        who=mostly(AUTHOR, "e1"),
        name=st.sampled_from(["submit", "withdraw", "resubmit", "close"]),
    )
    def simple(self, item: str, who: str, name: str) -> None:
        if item not in self.known:
            return
        actor = self.actor(who, item)
        self.attempt(item, name, lambda: getattr(self.qd, name)(actor, item), actor)

    @rule(
        item=items,
        who=mostly("e1", "d1", "c1", "s1"),
        name=st.sampled_from(["return_for_revision", "reject", "send_back"]),
        reason=reasons,
    )
    def with_reason(self, item: str, who: str, name: str, reason: str) -> None:
        if item not in self.known:
            return
        actor = ACTORS[who]
        self.attempt(item, name, lambda: getattr(self.qd, name)(actor, item, reason), actor)

    @rule(item=items, who=mostly("e1"), chosen=destinations, edit=st.booleans())
    def pass_preliminary(self, item: str, who: str, chosen: list[str], edit: bool) -> None:
        if item not in self.known:
            return
        actor = ACTORS[who]
        body = "编辑后的正文" if edit else None
        self.attempt(
            item,
            "pass_preliminary",
            lambda: self.qd.pass_preliminary(actor, item, destinations=chosen, body=body),
            actor,
        )

    @rule(item=items, who=mostly("d1"), chosen=st.one_of(st.none(), destinations))
    def approve(self, item: str, who: str, chosen: list[str] | None) -> None:
        if item not in self.known:
            return
        actor = ACTORS[who]
        self.attempt(
            item, "approve", lambda: self.qd.approve(actor, item, destinations=chosen), actor
        )

    @rule(item=items, who=st.sampled_from(["h1", "s1", "c1", "e1", "m1"]))
    def sign(self, item: str, who: str) -> None:
        if item not in self.known:
            return
        actor = ACTORS[who]
        self.attempt(item, "sign", lambda: self.qd.sign(actor, item), actor)

    @rule(
        item=items,
        who=mostly("e1"),
        units=st.lists(st.sampled_from(UNITS), min_size=1, max_size=2, unique=True),
    )
    def assign(self, item: str, who: str, units: list[str]) -> None:
        if item not in self.known:
            return
        actor = ACTORS[who]
        pairs = [(u, i == 0) for i, u in enumerate(units)]
        self.attempt(item, "assign", lambda: self.qd.assign(actor, item, pairs), actor)

    @rule(
        item=items,
        who=mostly(UNIT, UNIT, "e1", AUTHOR),
        index=st.integers(0, 3),
        name=st.sampled_from(
            [
                "accept",
                "decline",
                "overrule",
                "refuse_extension",
                "cancel_assignment",
                "order_rehandle",
                "reply",
                "request_extension",
                "approve_extension",
                "reassign",
                "rate",
            ]
        ),
        reason=reasons,
        workdays=st.integers(-1, 20),
        rating=st.sampled_from(list(Rating)),
        unit=st.sampled_from(UNITS),
    )
    def handle(
        self,
        item: str,
        who: str,
        index: int,
        name: str,
        reason: str,
        workdays: int,
        rating: Rating,
        unit: str,
    ) -> None:
        if item not in self.known:
            return
        found = self.load(item).assignments
        if not found:
            return
        chosen = found[index % len(found)]
        assignment = chosen.id
        actor = self.actor(who, item, chosen.unit_id)
        qd = self.qd
        calls: dict[str, Callable[[], Item]] = {
            "accept": lambda: qd.accept(actor, item, assignment),
            "decline": lambda: qd.decline(actor, item, assignment, reason),
            "overrule": lambda: qd.overrule(actor, item, assignment, reason),
            "refuse_extension": lambda: qd.refuse_extension(actor, item, assignment, reason),
            "cancel_assignment": lambda: qd.cancel_assignment(actor, item, assignment, reason),
            "order_rehandle": lambda: qd.order_rehandle(actor, item, assignment, reason),
            "reply": lambda: qd.reply(actor, item, assignment, reason or "已办理"),
            "request_extension": lambda: qd.request_extension(
                actor, item, assignment, workdays, reason
            ),
            "approve_extension": lambda: qd.approve_extension(actor, item, assignment),
            "reassign": lambda: qd.reassign(actor, item, assignment, unit),
            "rate": lambda: qd.rate(actor, item, assignment, rating),
        }
        self.attempt(item, name, calls[name], actor)

    @rule(item=items, who=mostly("e1", AUTHOR), kind=st.integers(0, 4), flag=st.booleans())
    def feedback(self, item: str, who: str, kind: int, flag: bool) -> None:
        if item not in self.known:
            return
        actor = self.actor(who, item)
        qd = self.qd
        on = local_day(self.clock.now())
        calls: list[Callable[[], Item]] = [
            lambda: qd.record_adoption(actor, item, AdoptionLevel.PROVINCIAL_CPPCC, on),
            lambda: qd.record_instruction(
                actor, item, "某领导", LeaderRank.CITY_LEADER, on, "请研究"
            ),
            lambda: qd.record_implementation(actor, item, on, "已落实"),
            lambda: qd.set_publication_consent(actor, item, flag),
            lambda: qd.reclassify(actor, item, flag, "密级调整"),
        ]
        self.attempt(item, "feedback", calls[kind], actor)

    @rule(
        item=items,
        chosen=st.lists(
            st.sampled_from(
                [
                    "forward_to_departments",
                    "report_to_city_leaders",
                    "report_to_principal_leaders_and_province",
                ]
            ),
            min_size=1,
            max_size=3,
        ),
        rating=st.sampled_from([Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.DISSATISFIED]),
        steps=st.integers(1, 8),
    )
    def progress(self, item: str, chosen: list[str], rating: Rating, steps: int) -> None:
        """The natural next steps by the right actors, so that runs reach deep states."""
        if item not in self.known:
            return
        for _ in range(steps):
            self._next_step(item, chosen, rating)

    def _next_step(self, item: str, chosen: list[str], rating: Rating) -> None:
        current = self.load(item)
        qd = self.qd
        author = ACTORS[current.lead_author_id]
        state = current.state
        if state is ItemState.DRAFT:
            self.attempt(item, "submit", lambda: qd.submit(author, item), author)
        elif state is ItemState.RETURNED:
            self.attempt(item, "resubmit", lambda: qd.resubmit(author, item), author)
        elif state is ItemState.SUBMITTED:
            editor = ACTORS["e1"]
            self.attempt(
                item,
                "pass_preliminary",
                lambda: qd.pass_preliminary(editor, item, destinations=chosen),
                editor,
            )
        elif state is ItemState.IN_REVIEW:
            self.attempt(item, "approve", lambda: qd.approve(ACTORS["d1"], item), ACTORS["d1"])
        elif state is ItemState.AWAITING_SIGNOFF:
            needed = required_signer(current.destinations, RULES.tiers)
            signer = next(a for a in ACTORS.values() if a.role is needed and a.jurisdiction == J)
            self.attempt(item, "sign", lambda: qd.sign(signer, item), signer)
        elif state is ItemState.ISSUED:
            units = [(u, i == 0) for i, u in enumerate(UNITS[: len(chosen)])]
            self.attempt(item, "assign", lambda: qd.assign(ACTORS["e1"], item, units), ACTORS["e1"])
        elif state is ItemState.HANDLING and current.open_assignments:
            self._progress_assignment(current, current.open_assignments[0])
        elif state is ItemState.REPLIED:
            replied = [a for a in current.assignments if a.replies]
            target = replied[0]
            if target.rating is Rating.NOT_RATED and target.rated_at is None:
                self.attempt(item, "rate", lambda: qd.rate(author, item, target.id, rating), author)
            else:
                self.attempt(item, "close", lambda: qd.close(ACTORS["e1"], item), ACTORS["e1"])

    def _progress_assignment(self, item: Item, a: Assignment) -> None:
        qd = self.qd
        unit = next(u for u in UNIT_ACTORS if u.unit_id == a.unit_id)
        editor = ACTORS["e1"]
        steps: dict[AssignmentState, tuple[Actor, Callable[[], Item]]] = {
            AssignmentState.PENDING: (unit, lambda: qd.accept(unit, item.id, a.id)),
            AssignmentState.ACCEPTED: (unit, lambda: qd.reply(unit, item.id, a.id, "已办结")),
            AssignmentState.EXTENSION_REQUESTED: (
                editor,
                lambda: qd.approve_extension(editor, item.id, a.id),
            ),
            AssignmentState.DECLINED: (
                editor,
                lambda: qd.overrule(editor, item.id, a.id, "属职责"),
            ),
        }
        actor, call = steps[a.state]
        self.attempt(item.id, a.state.value, call, actor)

    @rule(hours=st.integers(1, 24 * 6))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @rule()
    def jobs(self) -> None:
        self.qd.run_due_jobs()
        self.qd.run_due_jobs()  # safe to run twice

    # --- invariants -----------------------------------------------------------------------

    def all_items(self) -> list[Item]:
        with self.store.unit_of_work() as uow:
            return uow.items.find(ItemQuery())

    @invariant()
    def replay_rebuilds_every_item(self) -> None:
        with self.store.unit_of_work() as uow:
            for item in uow.items.find(ItemQuery()):
                assert replay(uow.events.for_item(item.id)) == item

    @invariant()
    def issued_items_were_reviewed_in_order(self) -> None:
        for item in self.all_items():
            if item.issued_at is None:
                continue
            passed = [r for r in item.reviews if r.decision is ReviewDecision.PASSED]
            stages = [r.stage for r in passed]
            assert stages[-3:] == [ReviewStage.PRELIMINARY, ReviewStage.DEPUTY, ReviewStage.SIGNOFF]
            signer = passed[-1].role
            check_signer(signer, item.destinations, RULES.tiers)
            assert not {r.actor_id for r in item.reviews} & item.authors

    @invariant()
    def publication_rule(self) -> None:
        for item in self.all_items():
            if item.published:
                assert item.adopted and not item.secret and not item.opted_out
            with self.store.unit_of_work() as uow:
                listed = {i.id for i in uow.items.find(ItemQuery(published_only=True))}
            assert (item.id in listed) == item.published

    @invariant()
    def deadlines_never_early(self) -> None:
        for item in self.all_items():
            for a in item.assignments:
                start = local_day(a.assigned_at)
                assert a.due >= CALENDAR.add_working_days(start, RULES.deadlines.reply_workdays)

    @invariant()
    def store_statistics_give_the_reference_bulletin(self) -> None:
        items = self.all_items()
        today = local_day(self.clock.now())
        quarter = Period.quarter(today.year, (today.month - 1) // 3 + 1)
        for query in (
            StatisticsQuery(J, Period.year(today.year), today),
            StatisticsQuery(None, quarter, today),
        ):
            with self.store.unit_of_work() as uow:
                stats = uow.items.statistics(query)
            assert stats == statistics_of(items, query)
            scoped = [i for i in items if query.jurisdiction in (None, i.jurisdiction)]
            expected = reference_bulletin(scoped, query.period, RULES.points, CALENDAR, today)
            assert bulletin(stats, RULES.points) == expected

    @invariant()
    def units_see_only_their_items(self) -> None:
        for item in self.all_items():
            assigned = {a.unit_id for a in item.assignments}
            for unit in UNIT_ACTORS:
                try:
                    view = self.qd.item_detail(unit, item.id)
                except NotFound:
                    assert unit.unit_id not in assigned
                    continue
                assert unit.unit_id in assigned or item.published
                assert all(v.assignment.unit_id == unit.unit_id for v in view.assignments)
        for unit in UNIT_ACTORS:
            for view in self.qd.inbox(unit):
                item = self.load(view.id)
                assert unit.unit_id in {a.unit_id for a in item.assignments}


WorkflowMachine.TestCase.settings = settings(
    max_examples=int(
        os.environ.get("QIANDAO_STATEFUL_EXAMPLES", "200" if os.environ.get("CI") else "25")
    ),
    stateful_step_count=50,
    deadline=None,
)
TestWorkflow = WorkflowMachine.TestCase
