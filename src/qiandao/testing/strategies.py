"""Hypothesis strategies, and the fixed query sets they sample from, for stores and statistics.

The store contract (:mod:`qiandao.testing.store`) and qiandao's own tests draw from these; a
host testing its own store or reports can use them too::

    from hypothesis import given
    from hypothesis import strategies as st

    from qiandao.testing import strategies as qst


    @given(qst.items(), qst.item_queries())
    def test_my_listing(item, query): ...

Two families of values:

- Items and queries for :meth:`~qiandao.ports.store.ItemRepository.find`, ``count`` and
  ``assignments``: :func:`items` draws from a small pool of jurisdictions, people (one id
  holding ``'`` and ``%``), units, commissions, instants (ties included) and due days, so random
  queries from :func:`item_queries` and :func:`assignment_queries` match often.
  :data:`ITEM_FILTERS` and :data:`ASSIGNMENT_FILTERS` are the fixed queries run exhaustively
  against :func:`~qiandao.testing.builders.query_corpus`.
- Items and queries for ``statistics``: :func:`statistics_items` (every choice of
  :func:`~qiandao.testing.builders.statistics_item` drawn) and :func:`statistics_queries`, which
  samples :data:`STATISTICS_QUERIES` (periods and days on both sides of the edge of Q1 2025).

This module imports Hypothesis (a development dependency); ``qiandao.testing`` loads it only
when ``qiandao.testing.strategies`` is first used.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from qiandao.lanes import LanePosition
from qiandao.model import Item
from qiandao.ports.store import AssignmentQuery, ItemOrder, ItemQuery
from qiandao.queries import NEVER_ISSUED
from qiandao.rules.lifecycle import ADOPTED_STATES, AssignmentState, ItemState
from qiandao.rules.points import Period
from qiandao.rules.rating import Rating
from qiandao.rules.tiers import Destination
from qiandao.statistics import StatisticsQuery
from qiandao.testing.builders import T0, sample_assignment, sample_item, statistics_item

__all__ = [
    "ASSIGNMENT_FILTERS",
    "ITEM_FILTERS",
    "STATISTICS_QUERIES",
    "assignment_positions",
    "assignment_queries",
    "destinations",
    "item_positions",
    "item_queries",
    "items",
    "statistics_items",
    "statistics_queries",
]

_JURISDICTIONS = ("zhoushan", "dinghai", "putuo")
_PEOPLE = ("m1", "m2", "m3", "o'1%")
_UNITS = ("u-1", "u-2", "u-3")
_COMMISSIONS = ("k1", "k2")
_INSTANTS = (
    *(T0 + timedelta(hours=h) for h in (0, 1, 1, 2, 30)),
    T0 + timedelta(hours=1, microseconds=1),
)
_DUES = (date(2025, 3, 28), date(2025, 3, 31), date(2025, 4, 1))


def _item_ids() -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=1, max_size=3).map(lambda s: f"r{s}")


# --- find, count and assignments ----------------------------------------------------------


_UNRATED = {"rating": Rating.NOT_RATED, "rated_at": None}


@st.composite
def items(draw: st.DrawFn) -> Item:
    """Items varied in everything :class:`~qiandao.ports.store.ItemQuery` filters and orders by.

    Jurisdiction, state, lead author and co-authors, urgency, 涉密, an author's opt-out, the
    commission, creation, submission and issue instants (with ties and a microsecond apart),
    and up to two assignments to the pool's units in any state with one of three due days,
    provisional or not, rated or still awaiting a rating. Ids are short (``r0`` … ``rfff``):
    draw lists with ``unique_by=lambda i: i.id``.
    """
    item_id = draw(_item_ids())
    lead = draw(st.sampled_from(_PEOPLE))
    coauthors = draw(st.lists(st.sampled_from(_PEOPLE), max_size=2, unique=True))
    authors = sorted({lead, *coauthors})
    assignments = tuple(
        sample_assignment(
            f"{item_id}-a{index}",
            draw(st.sampled_from(_UNITS)),
            lead=index == 0,
            state=draw(st.sampled_from(AssignmentState)),
            due=draw(st.sampled_from(_DUES)),
            provisional=draw(st.booleans()),
            rating_provisional=draw(st.booleans()),
            **(_UNRATED if draw(st.booleans()) else {}),
        )
        for index in range(draw(st.integers(0, 2)))
    )
    instants = st.sampled_from(_INSTANTS)
    return sample_item(
        item_id,
        jurisdiction=draw(st.sampled_from(_JURISDICTIONS)),
        state=draw(st.sampled_from(ItemState)),
        lead_author_id=lead,
        coauthor_ids=tuple(c for c in coauthors if c != lead),
        urgent=draw(st.booleans()),
        secret=draw(st.booleans()),
        opted_out=frozenset(draw(st.lists(st.sampled_from(authors), max_size=1))),
        commission_id=draw(st.none() | st.sampled_from(_COMMISSIONS)),
        created_at=draw(instants),
        submitted_at=draw(st.none() | instants),
        issued_at=draw(st.none() | instants),
        assignments=assignments,
    )


def item_queries() -> st.SearchStrategy[ItemQuery]:
    """Item queries over the pool of :func:`items`: any filter combination, order and page."""
    return st.builds(
        ItemQuery,
        jurisdiction=st.none() | st.sampled_from(_JURISDICTIONS),
        states=st.none() | st.frozensets(st.sampled_from(ItemState), max_size=4),
        author_id=st.none() | st.sampled_from(_PEOPLE),
        unit_id=st.none() | st.sampled_from(_UNITS),
        published_only=st.booleans(),
        commission_id=st.none() | st.sampled_from(_COMMISSIONS),
        order=st.sampled_from(ItemOrder),
        limit=st.none() | st.integers(0, 5),
        after=st.none() | item_positions(),
    )


def item_positions() -> st.SearchStrategy[LanePosition]:
    """Keyset positions among :func:`items` (any order's: rank, instant, id), as a cursor may
    hold them: the instants of the pool, the never-issued instant, and ids of the pool."""
    return st.builds(
        lambda rank, when, item_id: LanePosition(rank, when, item_id, item_id),
        st.sampled_from((0, 1)),
        st.sampled_from((*_INSTANTS, NEVER_ISSUED)),
        _item_ids(),
    )


def assignment_positions() -> st.SearchStrategy[LanePosition]:
    """Keyset positions of assignment rows among :func:`items`: a due day, ids of the pool."""
    return st.builds(
        lambda due, item_id, index: LanePosition(0, due, f"{item_id}-a{index}", item_id),
        st.sampled_from(_DUES),
        _item_ids(),
        st.sampled_from((0, 1)),
    )


def assignment_queries() -> st.SearchStrategy[AssignmentQuery]:
    """Assignment queries over the pool of :func:`items`: jurisdiction, unit, states, due day,
    limit and ``provisional_only``."""
    return st.builds(
        AssignmentQuery,
        jurisdiction=st.none() | st.sampled_from(_JURISDICTIONS),
        unit_id=st.none() | st.sampled_from(_UNITS),
        states=st.none() | st.frozensets(st.sampled_from(AssignmentState), max_size=3),
        due_before=st.none() | st.sampled_from(_DUES),
        limit=st.none() | st.integers(0, 4),
        provisional_only=st.booleans(),
        after=st.none() | assignment_positions(),
    )


def _item_filters() -> tuple[ItemQuery, ...]:
    q = ItemQuery
    s = ItemState
    return (
        q(),
        q(jurisdiction="zhoushan"),
        q(jurisdiction="dinghai"),
        q(jurisdiction="nowhere"),
        q(jurisdiction="zhou%"),
        q(states=frozenset({s.HANDLING})),
        q(states=frozenset({s.DRAFT, s.RETURNED, s.WITHDRAWN})),
        q(states=ADOPTED_STATES),
        q(states=frozenset(ItemState)),
        q(states=frozenset()),
        q(author_id="m1"),
        q(author_id="m2"),
        q(author_id="o'brien%_\\"),
        q(author_id="o'brien%"),
        q(author_id="o'brien_x"),
        q(author_id="m%"),
        q(author_id="nobody"),
        q(unit_id="u-ocean"),
        q(unit_id="u-dh"),
        q(unit_id="u-%"),
        q(unit_id="u-none"),
        q(published_only=True),
        q(commission_id="k1"),
        q(commission_id="k3"),
        q(commission_id="k%"),
        q(jurisdiction="zhoushan", states=ADOPTED_STATES, published_only=True),
        q(jurisdiction="zhoushan", author_id="m1", unit_id="u-ocean"),
        q(jurisdiction="dinghai", states=frozenset({s.HANDLING, s.CLOSED}), author_id="m2"),
        q(states=frozenset({s.SUBMITTED, s.IN_REVIEW}), commission_id="k1"),
        q(published_only=True, unit_id="u-fish", commission_id="k2"),
    )


def _assignment_filters() -> tuple[AssignmentQuery, ...]:
    a = AssignmentState
    queries = []
    for jurisdiction in (None, "zhoushan", "dinghai", "nowhere"):
        for unit_id in (None, "u-ocean", "u-dh", "u-none"):
            for states in (
                None,
                frozenset({a.PENDING}),
                frozenset({a.REPLIED, a.ACCEPTED, a.DECLINED}),
                frozenset(),
            ):
                for due_before in (None, date(2025, 3, 31), date(2025, 4, 2), date(2025, 3, 1)):
                    for limit in (None, 0, 2):
                        queries.append(
                            AssignmentQuery(jurisdiction, unit_id, states, due_before, limit)
                        )
    for jurisdiction in (None, "zhoushan"):
        for closed_before in (date(2025, 3, 1), date(2025, 6, 1), date(2027, 1, 1)):
            queries.append(AssignmentQuery(jurisdiction, rating_closed_before=closed_before))
        for done in (True, False):
            queries.append(AssignmentQuery(jurisdiction, reminders_done=done))
        for limit in (None, 1):
            queries.append(AssignmentQuery(jurisdiction, limit=limit, provisional_only=True))
    return tuple(queries)


#: Every filter of :class:`~qiandao.ports.store.ItemQuery`, alone and combined, with values
#: that match nothing, LIKE metacharacters (``%``, ``_``, ``\``) and quotes, chosen for
#: :func:`~qiandao.testing.builders.query_corpus` (run each with every order and several pages).
ITEM_FILTERS: tuple[ItemQuery, ...] = _item_filters()

#: Assignment queries for :func:`~qiandao.testing.builders.query_corpus`: every combination of
#: jurisdiction, unit, states, due day and limit, and the rating-window and reminder filters.
ASSIGNMENT_FILTERS: tuple[AssignmentQuery, ...] = _assignment_filters()


# --- statistics ---------------------------------------------------------------------------


@st.composite
def statistics_items(draw: st.DrawFn) -> Item:
    """Items for statistics properties: :func:`~qiandao.testing.builders.statistics_item` with
    every choice drawn. Ids are short: draw lists with ``unique_by=lambda i: i.id``."""
    item_id = draw(_item_ids())
    return statistics_item(item_id, lambda options: draw(st.sampled_from(options)))


def _statistics_queries() -> tuple[StatisticsQuery, ...]:
    periods = (
        Period.quarter(2025, 1),
        Period.quarter(2025, 2),
        Period.year(2025),
        Period(date(2025, 3, 31), date(2025, 3, 31)),
        Period(date(2025, 3, 31), date(2025, 4, 1)),
    )
    return tuple(
        StatisticsQuery(jurisdiction, period, today)
        for jurisdiction in (None, "zhoushan", "dinghai", "nowhere")
        for period in periods
        for today in (date(2025, 3, 31), date(2025, 7, 1), date(2025, 8, 1))
    )


#: Statistics queries for :func:`statistics_items` and
#: :func:`~qiandao.testing.builders.statistics_corpus`: every jurisdiction (and all, and none
#: that exists), quarters, the year, the last day of Q1 alone and across the quarter's edge,
#: judged on days before, on and after the corpus's last due day.
STATISTICS_QUERIES: tuple[StatisticsQuery, ...] = _statistics_queries()


def statistics_queries() -> st.SearchStrategy[StatisticsQuery]:
    """One of :data:`STATISTICS_QUERIES`."""
    return st.sampled_from(STATISTICS_QUERIES)


# --- rule inputs --------------------------------------------------------------------------


def destinations(*, min_size: int = 1) -> st.SearchStrategy[frozenset[Destination]]:
    """Sets of 报送去向 (第九条); by default at least one, as initial review requires."""
    return st.frozensets(st.sampled_from(list(Destination)), min_size=min_size)
