"""Random command sequences by random actors through the service, checked after every step.

Invariants: only legal transitions; exactly the adopted items were issued, each after 初审,
deputy review and a signature of the required tier, in order, by nobody among its authors or
merged authors; published ⇔ adopted ∧ not 涉密 ∧ no opt-out; no deadline earlier than 15 working
days after assignment; a unit sees an item only through a live assignment (not cancelled or
reassigned away) or when it is published, and its inbox holds exactly its open assignments; the
authors of a merged item are credited with its target; replaying an item's events rebuilds it;
store statistics give the reference bulletin; a refused command changes nothing.

:class:`FixedRun` replays chosen command sequences under the same checks, so the paths where
the rules were refined later (cancelled and reassigned assignments, merges, opt-outs, closed
rating windows) are covered on every run, not only when Hypothesis happens to reach them.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    INVARIANT_MARKER,
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from qiandao import (
    SHANGHAI,
    Access,
    Account,
    Actor,
    AdoptionLevel,
    Assignment,
    AssignmentState,
    CreditKind,
    DeadlineStatus,
    Destination,
    Item,
    ItemState,
    LeaderRank,
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
    check_audit,
    credits_of,
    replay,
    statistics_of,
)
from qiandao.ports.store import ItemQuery, Store
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import (
    ADOPTED_STATES,
    AWAITING_UNIT_STATES,
    ITEM_TRANSITIONS,
    ItemCommand,
)
from qiandao.rules.tiers import check_signer, required_signer
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing import ManualClock
from qiandao_adapters.memory import MemoryStore
from tests.bulletin_reference import reference_bulletin
from tests.helpers import fails

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
UNIT_OF = {a.unit_id: a for a in UNIT_ACTORS}
# A unit keeps access to an item through its assignment until the office cancels the assignment
# or moves it to another unit (DESIGN §2.6; "a unit reassigned away or cancelled loses access").
GONE_ASSIGNMENT_STATES = frozenset({AssignmentState.CANCELLED, AssignmentState.REASSIGNED})
# 第九条 in order: the stage each review decision leads to (None: issued). Passing moves on;
# sending back moves one stage back; 初审's return goes to the author, who resubmits to 初审.
REVIEW_STEPS: dict[tuple[ReviewStage, ReviewDecision], ReviewStage | None] = {
    (ReviewStage.PRELIMINARY, ReviewDecision.PASSED): ReviewStage.DEPUTY,
    (ReviewStage.PRELIMINARY, ReviewDecision.RETURNED): ReviewStage.PRELIMINARY,
    (ReviewStage.DEPUTY, ReviewDecision.PASSED): ReviewStage.SIGNOFF,
    (ReviewStage.DEPUTY, ReviewDecision.RETURNED): ReviewStage.PRELIMINARY,
    (ReviewStage.SIGNOFF, ReviewDecision.PASSED): None,
    (ReviewStage.SIGNOFF, ReviewDecision.RETURNED): ReviewStage.DEPUTY,
}
INBOX_PAGE = 500  # the largest page the service gives; a run makes far fewer items
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


def destination_values(min_size: int) -> st.SearchStrategy[list[str]]:
    """Destinations as a host sends them: values, possibly repeated (and, here, possibly none)."""
    return st.lists(st.sampled_from([d.value for d in Destination]), min_size=min_size, max_size=3)


destinations = destination_values(0)

BEFORE_HANDLING = frozenset(
    {
        ItemState.DRAFT,
        ItemState.SUBMITTED,
        ItemState.RETURNED,
        ItemState.IN_REVIEW,
        ItemState.AWAITING_SIGNOFF,
        ItemState.ISSUED,
    }
)
# Handling's side paths (申退, 撤销, 改派, 驳回申退, 延期, 重新办理) and who takes each.
SIDE_PATHS = {
    "decline": UNIT,
    "request_extension": UNIT,
    "cancel_assignment": "e1",
    "reassign": "e1",
    "overrule": "e1",
    "approve_extension": "e1",
    "order_rehandle": "e1",
}

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
    "merge": ItemCommand.MERGE,
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
        self.qd = Qiandao(self.store, clock=self.clock, calendar=CALENDAR, rules=RULES, hasher=None)
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
                        grants=(actor.grant,),
                        jurisdiction=actor.jurisdiction,
                        created_at=self.clock.now(),
                    )
                )
            uow.commit()

    def teardown(self) -> None:
        """The run's audit log verifies: every chain whole, every record where it belongs."""
        result = check_audit(self.store)
        assert result.ok, result.fault

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

    def attempt(
        self,
        item_id: str,
        name: str,
        call: Callable[[], Item],
        actor: Actor,
        *,
        also: Sequence[str] = (),
    ) -> None:
        """Run a command; on refusal, nothing changed (neither ``item_id`` nor the items in
        ``also``); on success, the table was obeyed."""
        before = {i: self.load(i) for i in (item_id, *also)}
        try:
            after = call()
        except QiandaoError as error:
            assert error.code, error
            for i, was in before.items():
                assert self.load(i) == was, f"{name} refused with {error.code} but changed {i}"
            if name == "close":
                self.check_close_refusal(before[item_id], actor, error.code)
            return
        if name == "close":  # 第十二条: never while a reply's rating window is open and unrated
            assert not self.rating_window_open(before[item_id]), "closed during a rating window"
        command = TABLE_COMMANDS.get(name)
        if command is not None:
            assert ITEM_TRANSITIONS[(before[item_id].state, command, actor.role)] == after.state

    def rating_window_open(self, item: Item) -> bool:
        """The model of 第十二条: some reply awaits its first rating and today is in its window."""
        today = local_day(self.clock.now())
        return any(
            (last := a.rating_pending_until) is not None and today <= last for a in item.assignments
        )

    def check_close_refusal(self, item: Item, actor: Actor, code: str) -> None:
        """A close the table allows is refused exactly when a rating window is open."""
        allowed = (item.state, ItemCommand.CLOSE, actor.role) in ITEM_TRANSITIONS
        if allowed and actor.jurisdiction == item.jurisdiction:
            assert (code == "rating.window_open") == self.rating_window_open(item), code
        else:
            assert code != "rating.window_open", code

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

    @rule(source=items, into=items, who=mostly("e1"))
    def merge(self, source: str, into: str, who: str) -> None:
        if source not in self.known or into not in self.known:
            return
        actor = ACTORS[who]
        self.attempt(
            source, "merge", lambda: self.qd.merge(actor, source, into), actor, also=[into]
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

    @rule(
        item=items,
        index=st.integers(0, 3),
        name=st.sampled_from(sorted(SIDE_PATHS)),
        unit=st.sampled_from(UNITS),
    )
    def side_path(self, item: str, index: int, name: str, unit: str) -> None:
        """A side path of handling by the actor it belongs to, on an item first taken (by the
        natural steps) as far as an open assignment, so that random runs reach declines,
        cancellations, reassignments, extensions and re-handling often."""
        if item not in self.known:
            return
        forward = [Destination.FORWARD_TO_DEPARTMENTS.value]
        for _ in range(6):
            current = self.load(item)
            if current.open_assignments or current.state not in BEFORE_HANDLING:
                break
            self._next_step(item, forward, Rating.DISSATISFIED)
        self.handle(
            item=item,
            who=SIDE_PATHS[name],
            index=index,
            name=name,
            reason="不属于本单位职责范围",
            workdays=5,
            rating=Rating.DISSATISFIED,
            unit=unit,
        )

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
        chosen=destination_values(1),
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
            today = local_day(self.clock.now())
            waiting = [
                a
                for a in current.assignments
                if (last := a.rating_pending_until) is not None and today <= last
            ]
            if waiting:  # the author rates first: closing waits for the window (第十二条)
                target = waiting[0]
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
    def adopted_items_were_issued_after_every_review_in_order(self) -> None:
        for item in self.all_items():
            # issued_at is set by signing, the only way into the adopted states
            assert (item.issued_at is not None) == (item.state in ADOPTED_STATES), item.state
            if item.issued_at is None:
                continue
            stage: ReviewStage | None = ReviewStage.PRELIMINARY
            for review in item.reviews:
                assert review.stage is stage, [(r.stage, r.decision) for r in item.reviews]
                assert (review.stage, review.decision) in REVIEW_STEPS, review
                stage = REVIEW_STEPS[(review.stage, review.decision)]
            assert stage is None  # the last review is the signature
            check_signer(item.reviews[-1].role, item.destinations, RULES.tiers)
            # self-review covers co-authors and merged authors (decision of 2026-11-30)
            assert not {r.actor_id for r in item.reviews} & (item.authors | item.merged_authors)

    @invariant()
    def published_exactly_when_adopted_not_secret_and_nobody_opted_out(self) -> None:
        items = self.all_items()
        with self.store.unit_of_work() as uow:
            listed = {i.id for i in uow.items.find(ItemQuery(published_only=True))}
        for item in items:
            rule = item.state in ADOPTED_STATES and not item.secret and not item.opted_out
            assert item.published == rule, item.id
            assert (item.id in listed) == rule, item.id

    @invariant()
    def no_item_is_left_handling_with_a_reply_and_nothing_open(self) -> None:
        """An item with nothing open is REPLIED once any assignment has a reply (a cancelled
        re-handling keeps its earlier reply); a HANDLING item with nothing open has none and
        awaits a new assignment."""
        for item in self.all_items():
            if item.state is ItemState.HANDLING and not item.open_assignments:
                assert not any(a.replies for a in item.assignments), item.id

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
    def merged_authors_are_credited_with_the_target(self) -> None:
        """Merged items are credited to every merged author when their target is adopted."""
        items = {i.id: i for i in self.all_items()}
        for item in items.values():
            if item.state is ItemState.MERGED:
                assert item.merged_into is not None
                assert item.id in items[item.merged_into].merged_from
            people: frozenset[str] = frozenset()
            for source_id in item.merged_from:
                source = items[source_id]
                assert (source.state, source.merged_into) == (ItemState.MERGED, item.id)
                people |= source.authors | source.merged_authors
            assert people - item.authors <= item.merged_authors <= people
            if item.state in ADOPTED_STATES:
                credited = {c.person_id for c in credits_of(item) if c.kind is CreditKind.ADOPTED}
                assert credited == item.authors | people

    @invariant()
    def units_see_items_only_through_live_assignments_or_publication(self) -> None:
        """A unit sees the issued text of an item while it holds an assignment the office has
        not cancelled or moved to another unit, and its own assignments only; otherwise only
        a published item, as everybody does; anything else is "not found"."""
        items = self.all_items()
        for item in items:
            live = {a.unit_id for a in item.assignments if a.state not in GONE_ASSIGNMENT_STATES}
            for unit in UNIT_ACTORS:
                if unit.unit_id in live:
                    view = self.qd.item_detail(unit, item.id)
                    assert view.access is Access.ISSUED_TEXT, view.access
                    assert (view.body, view.texts, view.reviews) == (item.body, (), ())
                    own = [a for a in item.assignments if a.unit_id == unit.unit_id]
                    assert [v.assignment for v in view.assignments] == own
                elif item.published:
                    view = self.qd.item_detail(unit, item.id)
                    assert (view.access, view.assignments) == (Access.PUBLISHED, ())
                else:
                    fails("not_found", partial(self.qd.item_detail, unit, item.id))
        for unit in UNIT_ACTORS:
            # the unit's lanes: what awaits the unit (a declined assignment waits on the office)
            waiting = {
                item.id
                for item in items
                if any(
                    a.unit_id == unit.unit_id and a.state in AWAITING_UNIT_STATES
                    for a in item.assignments
                )
            }
            assert {v.id for v in self.qd.inbox(unit, limit=INBOX_PAGE)} == waiting


class VisibilityAtTheEnd:
    """For the SQL machines: the unit-visibility invariant on the final state only. Each
    unit's read of a non-public item commits an audit record, so checking it after every step
    costs a transaction per item and unit; the memory machine checks it after every step."""

    def units_see_items_only_through_live_assignments_or_publication(self) -> None:
        """Not after each step (see the class)."""

    def teardown(self) -> None:
        """The visibility invariant once, on the final state, then the machine's own checks."""
        assert isinstance(self, WorkflowMachine)
        WorkflowMachine.units_see_items_only_through_live_assignments_or_publication(self)
        super().teardown()  # type: ignore[misc]


WorkflowMachine.TestCase.settings = settings(
    max_examples=int(
        os.environ.get("QIANDAO_STATEFUL_EXAMPLES", "200" if os.environ.get("CI") else "25")
    ),
    stateful_step_count=50,
    deadline=None,
)
TestWorkflow = WorkflowMachine.TestCase


# --- fixed runs ------------------------------------------------------------------------------

T = TypeVar("T")


def invariants_of(machine_class: type[RuleBasedStateMachine]) -> list[Callable[[Any], None]]:
    """The ``@invariant`` methods of a state machine class, as Hypothesis finds them."""
    found = [
        member
        for _, member in inspect.getmembers(machine_class)
        if getattr(member, INVARIANT_MARKER, None) is not None
    ]
    assert found, f"no invariants found on {machine_class.__name__}"
    return found


class FixedRun:
    """Chosen steps on a workflow machine, checked as Hypothesis checks a random run.

    The initializer runs first; after it and after every step every invariant of the machine's
    class runs. ``run(run.machine.handle, item=…, …)`` calls one rule and returns its result.
    """

    def __init__(self, machine: WorkflowMachine | None = None) -> None:
        self.machine = machine or WorkflowMachine()
        self.invariants = invariants_of(type(self.machine))
        self.machine.add_units()
        self.check()

    def __call__(self, step: Callable[..., T], /, **arguments: Any) -> T:
        result = step(**arguments)
        self.check()
        return result

    def check(self) -> None:
        for check in self.invariants:
            check(self.machine)

    def item(self, item_id: str) -> Item:
        return self.machine.load(item_id)

    def draft(self, who: str = "m1", *, publish: bool = True) -> str:
        """A submitted item by ``who`` (``m1`` writes with ``m2``)."""
        m = self.machine
        flags = {"urgent": False, "secret": False, "publish": publish, "submit": True}
        item = self(m.draft, who=who, title="海岛交通", **flags)
        assert isinstance(item, str) and item in m.known, item
        return item

    def progress(self, item: str, steps: int) -> Item:
        """``steps`` natural next steps; forwarded to departments, assigned to unit-1 alone."""
        chosen = [Destination.FORWARD_TO_DEPARTMENTS.value]
        self(self.machine.progress, item=item, chosen=chosen, rating=Rating.SATISFIED, steps=steps)
        return self.item(item)

    def handle(self, item: str, name: str, who: str = "e1", *, unit: str = "unit-2") -> Item:
        """One assignment command on the item's first assignment."""
        fixed = {
            "index": 0,
            "reason": "不属于本单位职责范围",
            "workdays": 5,
            "rating": Rating.SATISFIED,
        }
        self(self.machine.handle, item=item, who=who, name=name, unit=unit, **fixed)
        return self.item(item)

    def assigned(self, *, publish: bool) -> str:
        """An item submitted by m1, passed, approved, signed and assigned to unit-1 (lead)."""
        item = self.draft(publish=publish)
        found = self.progress(item, steps=4)
        assert [(a.unit_id, a.state) for a in found.assignments] == [
            ("unit-1", AssignmentState.PENDING)
        ]
        assert found.published is publish
        return item


def a_cancelled_assignment_hides_an_unpublished_item(run: FixedRun) -> None:
    item = run.assigned(publish=False)
    assert run.handle(item, "cancel_assignment").assignments[0].state is AssignmentState.CANCELLED
    fails("not_found", partial(run.machine.qd.item_detail, UNIT_OF["unit-1"], item))


def a_cancelled_assignment_leaves_a_unit_the_published_text(run: FixedRun) -> None:
    item = run.assigned(publish=True)
    assert run.handle(item, "cancel_assignment").assignments[0].state is AssignmentState.CANCELLED
    view = run.machine.qd.item_detail(UNIT_OF["unit-1"], item)
    assert (view.access, view.assignments) == (Access.PUBLISHED, ())


def a_unit_reassigned_away_loses_the_item(run: FixedRun) -> None:
    item = run.assigned(publish=False)
    declined = run.handle(item, "decline", who=UNIT).assignments[0]
    assert declined.state is AssignmentState.DECLINED  # still the unit's until the office acts
    assert run.machine.qd.item_detail(UNIT_OF["unit-1"], item).access is Access.ISSUED_TEXT
    moved = run.handle(item, "reassign", unit="unit-2").assignments
    assert [(a.unit_id, a.state) for a in moved] == [
        ("unit-1", AssignmentState.REASSIGNED),
        ("unit-2", AssignmentState.PENDING),
    ]
    fails("not_found", partial(run.machine.qd.item_detail, UNIT_OF["unit-1"], item))
    assert run.machine.qd.item_detail(UNIT_OF["unit-2"], item).access is Access.ISSUED_TEXT


def merged_authors_are_credited_when_the_target_is_adopted(run: FixedRun) -> None:
    target = run.draft("o1")
    source = run.draft("m1")  # with m2
    run(run.machine.merge, source=source, into=target, who="e1")
    assert run.item(source).state is ItemState.MERGED
    issued = run.progress(target, steps=3)
    assert (issued.state, issued.authors, issued.merged_authors) == (
        ItemState.ISSUED,
        frozenset({"o1"}),
        frozenset({"m1", "m2"}),
    )
    adopted = {c.person_id for c in credits_of(issued) if c.kind is CreditKind.ADOPTED}
    assert adopted == {"o1", "m1", "m2"}


def only_the_required_tier_signs(run: FixedRun) -> None:
    item = run.draft()
    m = run.machine
    principal = [Destination.REPORT_TO_PRINCIPAL_LEADERS_AND_PROVINCE.value]
    run(m.progress, item=item, chosen=principal, rating=Rating.SATISFIED, steps=2)
    for lower in ("h1", "s1"):  # refused: the chair must sign
        run(m.sign, item=item, who=lower)
        assert run.item(item).state is ItemState.AWAITING_SIGNOFF
    run(m.sign, item=item, who="c1")
    assert run.item(item).state is ItemState.ISSUED


def a_declined_assignment_waits_on_the_office(run: FixedRun) -> None:
    """Past its due day a declined assignment is neither reminded nor counted overdue (the
    office owes the next step); overruled, it is the unit's again, and overdue."""
    item = run.assigned(publish=False)
    run.handle(item, "decline", who=UNIT)
    due = run.item(item).assignments[0].due
    while local_day(run.machine.clock.now()) <= due:
        run(run.machine.time_passes, hours=24 * 6)
        run(run.machine.jobs)
    declined = run.item(item).assignments[0]
    assert (declined.state, declined.reminders) == (AssignmentState.DECLINED, frozenset())
    overruled = run.handle(item, "overrule").assignments[0]
    assert overruled.state is AssignmentState.ACCEPTED
    run(run.machine.jobs)
    assert DeadlineStatus.OVERDUE in run.item(item).assignments[0].reminders


def publication_follows_consent_and_secrecy(run: FixedRun) -> None:
    item = run.draft(publish=True)
    assert run.progress(item, steps=3).published
    m = run.machine
    for who, kind, flag, published in (
        (AUTHOR, 3, False, False),  # the author withdraws consent
        (AUTHOR, 3, True, True),  # and gives it again
        ("e1", 4, True, False),  # the office marks the item 涉密
        ("e1", 4, False, True),  # and lifts the label
    ):
        run(m.feedback, item=item, who=who, kind=kind, flag=flag)
        assert run.item(item).published is published


def an_unrated_reply_is_closed_when_its_rating_window_ends(run: FixedRun) -> None:
    item = run.assigned(publish=True)
    replied = run.progress(item, steps=2)  # accepted, replied
    assert replied.state is ItemState.REPLIED
    closes = replied.assignments[0].rating_closes
    assert closes is not None
    while local_day(run.machine.clock.now()) <= closes:
        run(run.machine.time_passes, hours=24 * 6)
    run(run.machine.jobs)
    lapsed = run.item(item).assignments[0]
    assert (lapsed.rating, lapsed.rated_at is not None) == (Rating.NOT_RATED, True)
    assert run.progress(item, steps=1).state is ItemState.CLOSED


def closing_waits_for_the_rating(run: FixedRun) -> None:
    """第十二条: the office cannot close while the author may still rate; once rated it can."""
    item = run.assigned(publish=True)
    m = run.machine
    assert run.progress(item, steps=2).state is ItemState.REPLIED  # accepted, replied
    run(m.simple, item=item, who="e1", name="close")
    assert run.item(item).state is ItemState.REPLIED  # refused: the window is open
    fails("rating.window_open", lambda: m.qd.close(ACTORS["e1"], item))
    rated = run.progress(item, steps=1)  # the author rates
    assert rated.assignments[0].rating is Rating.SATISFIED
    assert run.progress(item, steps=1).state is ItemState.CLOSED


def a_cancelled_rehandling_leaves_the_item_replied(run: FixedRun) -> None:
    """Reply, 不满意, 重新办理, then the office cancels the only assignment: the earlier reply
    stands, the item is REPLIED (not stuck in HANDLING) and the office closes it."""
    item = run.assigned(publish=True)
    m = run.machine
    run(m.progress, item=item, chosen=[], rating=Rating.DISSATISFIED, steps=3)  # rated 不满意
    assert run.item(item).assignments[0].rating is Rating.DISSATISFIED
    rehandled = run(m.side_path, item=item, index=0, name="order_rehandle", unit="unit-2")
    assert rehandled is None and run.item(item).state is ItemState.HANDLING
    cancelled = run.handle(item, "cancel_assignment")
    assert (cancelled.state, cancelled.assignments[0].state) == (
        ItemState.REPLIED,
        AssignmentState.CANCELLED,
    )
    assert run.progress(item, steps=1).state is ItemState.CLOSED


def sent_back_twice_then_issued(run: FixedRun) -> None:
    """The deputy sends the item back to 初审, the signer back to the deputy: each step is
    taken again, and the chain still reads 初审, deputy, signature in order."""
    item = run.draft()
    m = run.machine
    reason = "请补充数据"
    run.progress(item, steps=1)  # 初审 passed
    run(m.with_reason, item=item, who="d1", name="send_back", reason=reason)  # to 初审
    run.progress(item, steps=2)  # 初审 passed, deputy approved
    run(m.with_reason, item=item, who="h1", name="send_back", reason=reason)  # to the deputy
    issued = run.progress(item, steps=2)  # deputy approved, signed
    assert issued.state is ItemState.ISSUED
    p, d, s = ReviewStage.PRELIMINARY, ReviewStage.DEPUTY, ReviewStage.SIGNOFF
    passed, returned = ReviewDecision.PASSED, ReviewDecision.RETURNED
    assert [(r.stage, r.decision) for r in issued.reviews] == [
        (p, passed),
        (d, returned),
        (p, passed),
        (d, passed),
        (s, returned),
        (d, passed),
        (s, passed),
    ]


FIXED_RUNS: tuple[Callable[[FixedRun], None], ...] = (
    sent_back_twice_then_issued,
    only_the_required_tier_signs,
    a_cancelled_assignment_hides_an_unpublished_item,
    a_cancelled_assignment_leaves_a_unit_the_published_text,
    a_unit_reassigned_away_loses_the_item,
    merged_authors_are_credited_when_the_target_is_adopted,
    a_declined_assignment_waits_on_the_office,
    publication_follows_consent_and_secrecy,
    an_unrated_reply_is_closed_when_its_rating_window_ends,
    closing_waits_for_the_rating,
    a_cancelled_rehandling_leaves_the_item_replied,
)


@pytest.mark.parametrize("script", FIXED_RUNS, ids=lambda script: script.__name__)
def test_fixed_run(script: Callable[[FixedRun], None]) -> None:
    script(FixedRun())
