"""Reference semantics of the store queries, as pure functions over items.

The in-memory store answers with these; a SQL store must return the same rows in the same order
(the contract suite compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from qiandao.model import Assignment, Item
from qiandao.ports.store import AssignmentQuery, ItemOrder, ItemQuery

__all__ = ["filter_assignments", "filter_items", "item_matches"]

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
