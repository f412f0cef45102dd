"""Reference semantics of the store queries, as pure functions over items.

The in-memory store answers with these; a SQL store must return the same rows in the same order
(the contract suite compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

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
    review_reminded,
)
from qiandao.model import Assignment, Item
from qiandao.ports.store import (
    AssignmentQuery,
    ItemOrder,
    ItemQuery,
    LaneQuery,
    ReviewWaitQuery,
)

__all__ = [
    "filter_assignments",
    "filter_items",
    "item_matches",
    "lane_counts",
    "lane_page",
    "lane_rows",
    "review_waits",
]

_EPOCH = datetime.fromisoformat("1900-01-01T00:00:00+00:00")


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


def _order_key(order: ItemOrder) -> Callable[[Item], tuple[Any, ...]]:
    if order is ItemOrder.URGENT_FIRST:
        return lambda i: (not i.urgent, i.submitted_at or i.created_at, i.id)
    if order is ItemOrder.ISSUED_NEWEST_FIRST:
        return lambda i: (-(i.issued_at or _EPOCH).timestamp(), i.id)
    return lambda i: (-i.created_at.timestamp(), i.id)


def filter_items(items: Iterable[Item], query: ItemQuery) -> list[Item]:
    """The items matching ``query``, ordered and paged."""
    found = sorted((i for i in items if item_matches(i, query)), key=_order_key(query.order))
    end = None if query.limit is None else query.offset + query.limit
    return found[query.offset : end]


def filter_assignments(
    items: Iterable[Item], query: AssignmentQuery
) -> list[tuple[Item, Assignment]]:
    """(item, assignment) pairs matching ``query``, by due date then assignment id."""
    found = [
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
    found.sort(key=lambda pair: (pair[1].due, pair[1].id))
    return found if query.limit is None else found[: query.limit]


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
