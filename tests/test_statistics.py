"""Bulletin and assessment from store statistics (第十一、十三条).

``bulletin(statistics_of(items, query), table)`` must equal the item-based bulletin the library
used to compute (kept in :mod:`tests.bulletin_reference`), and the service must get its counts
from ``items.statistics`` instead of loading every item.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiandao import (
    AdoptionLevel,
    CreditKey,
    CreditKind,
    Item,
    LeaderRank,
    Period,
    PointsTable,
    Rating,
    Role,
    Statistics,
    StatisticsQuery,
    bulletin,
    statistics_of,
)
from qiandao._core import Actor
from qiandao.model import Assignment
from qiandao.ports.store import AssignmentQuery, ItemQuery, ItemRepository, Store
from qiandao.reporting import score
from qiandao.rules.deadlines import local_day
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.service import Qiandao
from qiandao.testing import enrol, sample_item, statistics_corpus
from qiandao.testing.strategies import STATISTICS_QUERIES, statistics_items, statistics_queries
from qiandao_adapters.memory import MemoryStore
from tests.bulletin_reference import reference_bulletin
from tests.helpers import ZS, at, busy_world, make_world
from tests.wrappers import DelegatingUnitOfWork

CALENDAR = ChinaWorkdays.official()
GENEROUS = PointsTable(
    submitted=2,
    adopted=0,
    reported_to_city_leaders=7,
    reported_to_principal_or_province=9,
    adoption=dict.fromkeys(AdoptionLevel, 4),
    instruction={rank: 3 * n for n, rank in enumerate(LeaderRank, start=1)},
)


def _as_replied(item: Item) -> Item:
    """``reply_workdays`` as the reply command records them (the reference uses the calendar)."""

    def fixed(a: Assignment) -> Assignment:
        days = None
        if a.replies:
            start, end = local_day(a.assigned_at), local_day(a.replies[-1].at)
            days = CALENDAR.working_days_between(start, end)
        return attrs.evolve(a, reply_workdays=days)

    return attrs.evolve(item, assignments=tuple(fixed(a) for a in item.assignments))


def _reference(items: list[Item], query: StatisticsQuery, table: PointsTable) -> Any:
    scoped = [i for i in items if query.jurisdiction in (None, i.jurisdiction)]
    return reference_bulletin(scoped, query.period, table, CALENDAR, query.today)


# --- statistics_of against the item-based reference -----------------------------------------


@pytest.mark.parametrize("table", [PointsTable(), GENEROUS], ids=["default", "generous"])
def test_bulletin_of_the_corpus_matches_the_reference(table: PointsTable) -> None:
    items = [_as_replied(i) for i in statistics_corpus(200, seed=7)]
    for query in STATISTICS_QUERIES:
        assert bulletin(statistics_of(items, query), table) == _reference(items, query, table)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(statistics_items(), max_size=12, unique_by=lambda i: i.id),
    query=statistics_queries(),
    table=st.sampled_from([PointsTable(), GENEROUS]),
)
def test_bulletin_from_statistics_matches_the_reference_on_random_items(
    items: list[Item], query: StatisticsQuery, table: PointsTable
) -> None:
    items = [_as_replied(i) for i in items]
    assert bulletin(statistics_of(items, query), table) == _reference(items, query, table)


def test_one_closed_item_counted_by_hand() -> None:
    """``sample_item``: submitted 2025-03-03, issued 03-06, reported to city leaders, adopted by
    the provincial CPPCC (03-20), a city principal leader's instruction (03-25); two merged
    authors; three assignments (late reply, reassigned after declining, reply on the due day)."""
    item = _as_replied(sample_item())
    stats = statistics_of(
        [item], StatisticsQuery("zhoushan", Period.quarter(2025, 1), date(2025, 4, 1))
    )
    lines = {p.person_id: p for p in bulletin(stats, PointsTable()).people}
    assert set(lines) == {"member-001", "member-002", "officer-003", "member-090", "officer-091"}
    lead, merged = lines["member-001"], lines["member-090"]
    assert (lead.submitted, lead.adopted, lead.reported_upward, lead.instructions) == (1, 1, 1, 1)
    assert lead.score == 1 + 3 + 5 + 10 + 8
    assert (merged.submitted, merged.score) == (0, 3 + 5 + 10 + 8)
    counts = {p.person_id: p for p in stats.people}
    assert counts["member-001"].count(CreditKind.ADOPTED_BY, CreditKind.INSTRUCTION) == 2
    assert score(counts["member-001"], PointsTable()) == lead.score
    assert score(counts["member-001"], GENEROUS) == 2 + 0 + 7 + 4 + 6
    assert [(r.place, r.person_id) for r in bulletin(stats, PointsTable()).ranking][:3] == [
        (1, "member-001"),
        (1, "member-002"),
        (1, "officer-003"),
    ]
    units = {u.unit_id: u for u in stats.units}
    ocean, hrss, fishery = units["unit-ocean"], units["unit-hrss"], units["unit-fishery"]
    assert (ocean.assigned, ocean.replied, ocean.replied_on_time, ocean.extended) == (1, 1, 0, 1)
    assert (hrss.assigned, hrss.replied, hrss.overdue, hrss.declined) == (1, 0, 0, 1)
    assert (fishery.replied, fishery.replied_on_time, fishery.declined) == (1, 1, 0)
    assert fishery.ratings[Rating.SATISFIED] == 1
    assert ocean.ratings == {
        Rating.SATISFIED: 0,
        Rating.BASICALLY_SATISFIED: 1,
        Rating.DISSATISFIED: 0,
        Rating.NOT_RATED: 0,
    }
    assert [(g.key, g.submitted, g.adopted) for g in stats.by_channel] == [("commission", 1, 1)]
    # the next quarter holds the late reply's day but none of the assignments
    later = StatisticsQuery("zhoushan", Period.quarter(2025, 2), date(2025, 4, 1))
    assert statistics_of([item], later) == Statistics(later)


def test_credit_keys_carry_a_level_or_a_rank_only_where_they_belong() -> None:
    CreditKey(CreditKind.ADOPTED_BY, level=AdoptionLevel.NATIONAL_CPPCC)
    CreditKey(CreditKind.INSTRUCTION, rank=LeaderRank.CITY_LEADER)
    with pytest.raises(ValueError):
        CreditKey(CreditKind.ADOPTED_BY)
    with pytest.raises(ValueError):
        CreditKey(CreditKind.SUBMITTED, rank=LeaderRank.CITY_LEADER)
    with pytest.raises(ValueError):
        CreditKey(CreditKind.INSTRUCTION, level=AdoptionLevel.CITY_CPPCC)


# --- the service asks the store for counts, never for every item ----------------------------


class _NoScanItems:
    """An item repository that refuses unbounded ``find`` and ``assignments`` calls (and
    their pages)."""

    def __init__(self, inner: ItemRepository, calls: list[str]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def find(self, query: ItemQuery) -> list[Item]:
        assert query.limit is not None, f"unbounded find: {query}"
        self._calls.append("find")
        return self._inner.find(query)

    def find_page(self, query: ItemQuery) -> tuple[list[Item], int]:
        assert query.limit is not None, f"unbounded find_page: {query}"
        self._calls.append("find_page")
        return self._inner.find_page(query)

    def assignments(self, query: AssignmentQuery) -> list[tuple[Item, Assignment]]:
        assert query.limit is not None, f"unbounded assignments: {query}"
        self._calls.append("assignments")
        return self._inner.assignments(query)

    def assignment_page(self, query: AssignmentQuery) -> tuple[list[tuple[Item, Assignment]], int]:
        assert query.limit is not None, f"unbounded assignment_page: {query}"
        self._calls.append("assignment_page")
        return self._inner.assignment_page(query)

    def statistics(self, query: StatisticsQuery) -> Statistics:
        self._calls.append("statistics")
        return self._inner.statistics(query)


class _NoScanUnitOfWork(DelegatingUnitOfWork):
    def __init__(self, inner: Any, calls: list[str]) -> None:
        super().__init__(inner)
        self.items = _NoScanItems(inner.items, calls)


class _NoScanStore:
    """A memory store whose item queries must all be bounded (a paged query or an aggregate)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def unit_of_work(self) -> Any:
        return _NoScanUnitOfWork(self.inner.unit_of_work(), self.calls)


def test_bulletin_and_assessment_come_from_store_statistics() -> None:
    w = busy_world()
    store = _NoScanStore(w.store)
    qd = Qiandao(store, clock=w.clock, rules=w.qd._rules, hasher=None)
    quarter = qd.quarterly_bulletin(w.editor, 2026, 1)
    assert store.calls == ["statistics"]
    ranking = qd.assessment(w.editor, 2026)
    assert store.calls == ["statistics", "statistics"]
    with w.store.unit_of_work() as uow:
        items = uow.items.find(ItemQuery())
    today = local_day(w.clock.now())
    table = w.qd.rules_for(ZS).points
    expected = reference_bulletin(items, Period.quarter(2026, 1), table, CALENDAR, today)
    assert attrs.evolve(quarter, names={}, unit_names={}) == expected
    assert quarter.people and quarter.units and quarter.by_category
    # the lines' people and units come with their display names, read in the same statistics call
    with w.store.unit_of_work() as uow:
        named = uow.directory.names({p.person_id for p in quarter.people}, set())
    assert quarter.names == named.accounts and set(quarter.names) == {
        p.person_id for p in quarter.people
    }
    assert set(quarter.unit_names) == {"u-a", "u-b", "u-c"}
    assert {u.unit_id: u.overdue for u in quarter.units} == {"u-a": 0, "u-b": 1, "u-c": 1}
    assert quarter.units[0].average_reply_workdays == 3
    year = reference_bulletin(items, Period.year(2026), table, CALENDAR, today)
    assert ranking == list(year.ranking)


def test_every_query_of_the_service_is_bounded() -> None:
    w = busy_world()
    store = _NoScanStore(w.store)
    qd = Qiandao(store, clock=w.clock, rules=w.qd._rules, hasher=None)
    actors = [
        *w.city.values(),
        *w.units.values(),
        Actor("s1", Role.SECRETARY_GENERAL, ZS),
        Actor("c1", Role.CHAIR, ZS),
    ]
    enrol(w.store, *actors)
    for actor in actors:
        qd.inbox(actor)
        qd.my_items(actor)
        if actor.role is not Role.HANDLING_UNIT:
            qd.published(actor)
    assert qd.inbox(w.head)
    for actor in (w.editor, w.deputy, w.unit("u-b")):
        assert qd.overdue(actor).items
        qd.overdue(actor, very=True)
    assert {"find", "find_page", "assignment_page"} <= set(store.calls)


def test_reply_records_the_working_days_since_assignment() -> None:
    w = make_world(at(2026, 4, 2))  # Thursday before 清明 (4–6 April 2026)
    item, (a,) = w.accepted("u-a")
    w.clock.advance(days=5)  # Tuesday 7 April
    replied = w.qd.reply(w.unit("u-a"), item.id, a.id, "已办理").assignments[0]
    expected = CALENDAR.working_days_between(date(2026, 4, 2), date(2026, 4, 7))
    assert replied.reply_workdays == expected == 2
    assert type(replied.reply_workdays) is int


def test_signer_inbox_pages_past_items_for_other_signers() -> None:
    """A head's items beyond the first page of items awaiting the secretary-general."""
    w = make_world()
    store = _NoScanStore(w.store)
    qd = Qiandao(store, clock=w.clock, rules=w.qd._rules, hasher=None)

    def awaiting(destination: str) -> str:
        item = w.qd.submit_new(w.member, {"title": "待签", "body": "正文", "category": "hot_issue"})
        w.qd.pass_preliminary(w.editor, item.id, destinations=[destination])
        w.qd.approve(w.deputy, item.id)
        w.clock.advance(seconds=1)
        return item.id

    for _ in range(130):
        awaiting("report_to_city_leaders")
    mine = [awaiting("forward_to_departments") for _ in range(3)]
    assert [v.id for v in qd.inbox(w.head, limit=2)] == mine[:2]
    assert [v.id for v in qd.inbox(w.head, limit=5)] == mine
    secretary = Actor("s1", Role.SECRETARY_GENERAL, ZS)
    enrol(w.store, secretary)
    assert len(qd.inbox(secretary, limit=50)) == 50


def test_memory_store_statistics_see_staged_writes() -> None:
    store: Store = MemoryStore()
    item = sample_item()
    query = StatisticsQuery(None, Period.year(2025), date(2025, 6, 1))
    with store.unit_of_work() as uow:
        uow.items.add(item)
        assert uow.items.statistics(query) == statistics_of([item], query)
