"""Reference semantics of the store queries, as pure functions over items.

The in-memory store answers with these; a SQL store must return the same rows in the same order
(the contract suite compares them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from qiandao.attention import AttentionKey, attention
from qiandao.lanes import (
    ASSIGNMENT_LANES,
    REVIEW_LANES,
    Lane,
    LanePosition,
    assignment_lane,
    destinations_key,
    entered_state_at,
    item_lane,
    item_position,
    lane_position,
    priority,
    review_reminded,
)
from qiandao.model import Assignment, Item
from qiandao.ports.store import (
    AssignmentQuery,
    AttentionQuery,
    ItemOrder,
    ItemQuery,
    LaneQuery,
    ReviewWaitQuery,
)

__all__ = [
    "NEVER_ISSUED",
    "assignment_page",
    "assignment_position",
    "attention_page",
    "attention_positions",
    "filter_assignments",
    "filter_items",
    "item_matches",
    "item_page",
    "lane_counts",
    "lane_page",
    "lane_rows",
    "needing_attention",
    "order_position",
    "review_waits",
]

NEVER_ISSUED = datetime(1900, 1, 1, tzinfo=UTC)
"""The instant in the sort key of an item never issued (rank 1: after every issued item)."""
_MICROSECOND = timedelta(microseconds=1)


def item_matches(item: Item, query: ItemQuery) -> bool:
    """Whether ``item`` passes every filter of ``query``."""
    return (
        (query.jurisdiction is None or item.jurisdiction == query.jurisdiction)
        and (query.states is None or item.state in query.states)
        and (query.author_id is None or query.author_id in item.authors)
        and (query.unit_id is None or any(a.unit_id == query.unit_id for a in item.assignments))
        and (not query.published_only or item.published)
        and (query.commission_id is None or item.commission_id == query.commission_id)
    )


def order_position(order: ItemOrder, item: Item) -> LanePosition:
    """The sort key of ``item`` in ``order``: (rank, instant, id); ``item_id`` is the id.

    Newest first: rank 0, creation, newest first (ties: the greater id first). Urgent first:
    rank 0 for urgent items (急事急报), then submission (creation before it), oldest first
    (ties: the smaller id first). Issued newest first: rank 0 and the issue instant, newest
    first (ties: the greater id first), or rank 1 and :data:`NEVER_ISSUED` for an item never
    issued (listed last, by id).
    """
    if order is ItemOrder.URGENT_FIRST:
        when = item.submitted_at or item.created_at
        return LanePosition(priority(item.urgent), when, item.id, item.id)
    if order is ItemOrder.ISSUED_NEWEST_FIRST:
        if item.issued_at is None:
            return LanePosition(1, NEVER_ISSUED, item.id, item.id)
        return LanePosition(0, item.issued_at, item.id, item.id)
    return LanePosition(0, item.created_at, item.id, item.id)


def _micros(when: datetime) -> int:
    """An instant as whole microseconds since :data:`NEVER_ISSUED` (exact, unlike a float)."""
    return (when - NEVER_ISSUED) // _MICROSECOND


@functools.total_ordering
class _Reversed:
    """A string that sorts in reverse (ids of a newest-first order: the later id first)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __lt__(self, other: _Reversed) -> bool:
        return other.text < self.text


def _sort_key(order: ItemOrder, position: LanePosition) -> tuple[int, int, str | _Reversed]:
    """What ``order`` compares: rank, then the instant and the id, both descending in the
    newest-first orders (one direction: an index on (instant, id) read backwards serves it),
    ascending urgent first; the never issued (rank 1) by id alone, ascending."""
    when = position.when
    instant = _micros(when if isinstance(when, datetime) else NEVER_ISSUED)
    if order is ItemOrder.URGENT_FIRST:
        return (position.priority, instant, position.id)
    if order is ItemOrder.ISSUED_NEWEST_FIRST and position.priority == 1:
        return (1, 0, position.id)
    return (position.priority, -instant, _Reversed(position.id))


def filter_items(items: Iterable[Item], query: ItemQuery) -> list[Item]:
    """The items matching ``query``, ordered, after ``query.after``, at most ``limit``."""
    order = query.order
    keyed = [
        (_sort_key(order, order_position(order, i)), i) for i in items if item_matches(i, query)
    ]
    keyed.sort(key=lambda pair: pair[0])
    if query.after is not None:
        after = _sort_key(order, query.after)
        keyed = [pair for pair in keyed if pair[0] > after]
    found = [i for _, i in keyed]
    return found if query.limit is None else found[: query.limit]


def item_page(items: Iterable[Item], query: ItemQuery) -> tuple[list[Item], int]:
    """One page of items (:func:`filter_items`) and the filter's total, from the same items."""
    pool = list(items)
    return filter_items(pool, query), sum(1 for i in pool if item_matches(i, query))


def assignment_position(item: Item, assignment: Assignment) -> LanePosition:
    """The sort key of an assignment row: its due day, its id, its item's id."""
    return LanePosition(0, assignment.due, assignment.id, item.id)


def _assignment_key(position: LanePosition) -> tuple[Any, str, str]:
    return (position.when, position.id, position.item_id)


def _assignment_rows(
    items: Iterable[Item], query: AssignmentQuery
) -> list[tuple[Item, Assignment]]:
    """Every (item, assignment) row of the query's filter, unordered."""
    return [
        (item, a)
        for item in items
        if query.jurisdiction is None or item.jurisdiction == query.jurisdiction
        for a in item.assignments
        if (query.unit_id is None or a.unit_id == query.unit_id)
        and (query.states is None or a.state in query.states)
        and (query.due_before is None or a.due < query.due_before)
        and (query.reminders_done is None or a.reminders_done == query.reminders_done)
        and (not query.provisional_only or a.provisional_pending)
        and (
            query.rating_closed_before is None
            or (
                (pending := a.rating_pending_until) is not None
                and pending < query.rating_closed_before
            )
        )
    ]


def filter_assignments(
    items: Iterable[Item], query: AssignmentQuery
) -> list[tuple[Item, Assignment]]:
    """(item, assignment) pairs matching ``query``, by due date, assignment id, item id; after
    ``query.after``, at most ``limit``."""

    def key(pair: tuple[Item, Assignment]) -> tuple[Any, str, str]:
        return _assignment_key(assignment_position(*pair))

    found = sorted(_assignment_rows(items, query), key=key)
    if query.after is not None:
        after = _assignment_key(query.after)
        found = [pair for pair in found if key(pair) > after]
    return found if query.limit is None else found[: query.limit]


def assignment_page(
    items: Iterable[Item], query: AssignmentQuery
) -> tuple[list[tuple[Item, Assignment]], int]:
    """One page of assignment rows (:func:`filter_assignments`) and the filter's total."""
    pool = list(items)
    return filter_assignments(pool, query), len(_assignment_rows(pool, query))


def _lane_rows(items: Iterable[Item], query: LaneQuery) -> list[tuple[Item, Assignment | None]]:
    """Every row of the query's lane and scope, unordered."""
    lane = query.lane
    unit = lane not in (Lane.DECLINED, Lane.EXTENSION)
    found: list[tuple[Item, Assignment | None]] = []
    for item in items:
        if query.jurisdiction is not None and item.jurisdiction != query.jurisdiction:
            continue
        if lane not in ASSIGNMENT_LANES:
            if item_lane(item) is lane and (
                query.destination_keys is None
                or destinations_key(item.destinations) in query.destination_keys
            ):
                found.append((item, None))
            continue
        found += [
            (item, a)
            for a in item.assignments
            if (query.unit_id is None or a.unit_id == query.unit_id)
            and assignment_lane(a, unit=unit) is lane
        ]
    return found


def _position(lane: Lane) -> Callable[[tuple[Item, Assignment | None]], LanePosition]:
    return lambda row: lane_position(lane, row[0], row[1])


def lane_rows(items: Iterable[Item], query: LaneQuery) -> list[tuple[Item, Assignment | None]]:
    """One page of a lane: urgent first, then the lane's order, then ids; after ``after``."""
    key = _position(query.lane)
    found = sorted(_lane_rows(items, query), key=key)
    if query.after is not None:
        after = query.after
        found = [row for row in found if key(row) > after]
    return found if query.limit is None else found[: query.limit]


def lane_page(
    items: Iterable[Item], query: LaneQuery
) -> tuple[list[tuple[Item, Assignment | None]], int]:
    """One page of a lane (:func:`lane_rows`) and the lane's total, from the same items."""
    pool = list(items)
    return lane_rows(pool, query), len(_lane_rows(pool, query))


def lane_counts(items: Iterable[Item], queries: Sequence[LaneQuery]) -> dict[Lane, int]:
    """How many rows each queried lane has."""
    pool = list(items)
    return {q.lane: len(_lane_rows(pool, q)) for q in queries}


def review_waits(items: Iterable[Item], query: ReviewWaitQuery) -> list[Item]:
    """Items in a review lane that entered it before the cut-off of their urgency."""

    def waiting(item: Item) -> bool:
        cutoff = query.urgent_before if item.urgent else query.before
        return (
            item_lane(item) in REVIEW_LANES
            and (query.jurisdiction is None or item.jurisdiction == query.jurisdiction)
            and entered_state_at(item) < cutoff
            and (query.reminded is None or review_reminded(item) == query.reminded)
        )

    found = sorted((i for i in items if waiting(i)), key=item_position)
    if query.after is not None:
        after = query.after
        found = [i for i in found if item_position(i) > after]
    return found if query.limit is None else found[: query.limit]


def attention_positions(item: Item) -> list[tuple[AttentionKey, LanePosition]]:
    """The item's assignments that await the job: each one's attention key and position."""
    return [
        (key, LanePosition(0, key.day, a.id, item.id))
        for a in item.assignments
        if (key := attention(a)) is not None
    ]


def needing_attention(items: Iterable[Item], query: AttentionQuery) -> list[LanePosition]:
    """Positions of the assignments whose attention is ``query.kind`` on a day before
    ``query.before``: by day, assignment id, item id; after ``query.after``, at most ``limit``."""
    return attention_page(
        (
            position
            for item in items
            for key, position in attention_positions(item)
            if key.kind is query.kind and key.day < query.before
        ),
        query,
    )


def attention_page(found: Iterable[LanePosition], query: AttentionQuery) -> list[LanePosition]:
    """``found`` (rows of the query's filter) in the query's order, after ``query.after``, at
    most ``query.limit``."""
    ordered = sorted(found, key=_assignment_key)
    if query.after is not None:
        after = _assignment_key(query.after)
        ordered = [p for p in ordered if _assignment_key(p) > after]
    return ordered if query.limit is None else ordered[: query.limit]
