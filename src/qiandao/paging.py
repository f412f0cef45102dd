"""Keyset pages: the one page type every list returns, and its opaque cursors.

A list is sorted on a key (:class:`~qiandao.lanes.LanePosition`: rank, instant or day, id, item
id); a page ends with the key of its last row and the next page starts strictly after it, so a
row inserted before the cursor never makes a later page repeat or skip a row, and a deep page
costs what the first does (the store seeks to the key instead of counting rows off).

A cursor is bound to its listing and to the caller's scope (the account, the role and
jurisdiction): one of another listing or actor, or one altered by hand, is ``input.invalid``
(field ``cursor``). It holds only the sort key and grants nothing: the listing's filter is applied
again on every page, so no cursor reaches a row outside it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Generic, TypeVar

import attrs

from qiandao.errors import InvalidInput
from qiandao.lanes import LanePosition
from qiandao.rules.text import is_id

__all__ = [
    "EPOCH",
    "MAX_PAGE",
    "Page",
    "check_limit",
    "decode_position",
    "encode_position",
    "page_of",
    "page_start",
    "sequence_id",
]

T = TypeVar("T")

MAX_PAGE = 500
"""The largest ``limit`` a list accepts."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The instant of a position whose list is not sorted on time (ids or sequences only)."""

_VERSION = 1
_MAX_CURSOR = 1000


@attrs.frozen
class Page(Generic[T]):
    """One page of a list: its rows as the actor may see them, how many rows the whole list has
    (the same filter, counted), and the cursor of the next page (``None`` on the last page)."""

    items: tuple[T, ...]
    total: int
    next_cursor: str | None


def check_limit(limit: object) -> int:
    """``limit`` if it is an ``int`` from 1 to :data:`MAX_PAGE`, else ``input.invalid``."""
    if type(limit) is not int or not 0 < limit <= MAX_PAGE:
        raise InvalidInput(f"分页参数不合法（每页1至{MAX_PAGE}条）", field="limit")
    return limit


def encode_position(listing: str, scope: str, position: LanePosition) -> str:
    """The opaque cursor of a page's last row, bound to its listing and scope."""
    when = position.when.isoformat()
    raw = [_VERSION, listing, scope, position.priority, when, position.id, position.item_id]
    text = json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _bad_cursor() -> InvalidInput:
    return InvalidInput("分页游标无效或不属于该列表", field="cursor")


def decode_position(
    cursor: object, listing: str, scope: str, *, dated: bool = False, paired: bool = False
) -> LanePosition:
    """The position a cursor of ``listing`` and ``scope`` holds; ``input.invalid`` otherwise.

    ``dated``: the key's second part is a day (due dates), else an instant with an offset
    (compared in UTC; one outside ``datetime``'s range is refused). ``paired``: the row id and
    the item id may differ (assignment rows), else they must be equal. Ids must be ones every
    store can compare (``qiandao.rules.text.is_id``).
    """
    if not isinstance(cursor, str) or not 0 < len(cursor) <= _MAX_CURSOR:
        raise _bad_cursor()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (ValueError, UnicodeError, binascii.Error):
        raise _bad_cursor() from None
    if not (isinstance(raw, list) and len(raw) == 7):
        raise _bad_cursor()
    version, code, bound, rank, when, row_id, item_id = raw
    if (
        type(version) is not int  # not 1.0, not true
        or version != _VERSION
        or code != listing
        or bound != scope
        or type(rank) is not int
        or rank not in (0, 1)
        or not isinstance(when, str)
        or not is_id(row_id)
        or not is_id(item_id)
        or (not paired and item_id != row_id)
    ):
        raise _bad_cursor()
    moment: datetime | date
    try:
        if dated:
            moment = date.fromisoformat(when)
        else:
            moment = datetime.fromisoformat(when)
            if moment.utcoffset() is None:
                raise _bad_cursor()
            moment = moment.astimezone(UTC)  # every store compares instants in UTC
    except (ValueError, OverflowError):
        raise _bad_cursor() from None
    return LanePosition(rank, moment, row_id, item_id)


def sequence_id(sequence: int) -> str:
    """A sequence number as an id that sorts as text in number order (a position's id)."""
    return f"{sequence:012d}"


def _sort_key(position: LanePosition) -> tuple[int, datetime, str, str]:
    """``position`` as a tuple that compares as the list's order (days as midnight UTC)."""
    when = position.when
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, tzinfo=UTC)
    return (position.priority, when, position.id, position.item_id)


def page_of(
    rows: Iterable[T],
    key: Callable[[T], LanePosition],
    limit: int,
    after: LanePosition | None,
    listing: str,
    scope: str,
) -> Page[T]:
    """One page of a short list the store returns whole: sorted on ``key``, the rows strictly
    after ``after`` (a decoded cursor), at most ``limit``; the total counts every row."""
    ordered = sorted(rows, key=lambda row: _sort_key(key(row)))
    start = _sort_key(after) if after is not None else None
    rest = [row for row in ordered if start is None or _sort_key(key(row)) > start]
    items = rest[:limit]
    following = None
    if len(rest) > limit:
        following = encode_position(listing, scope, key(items[-1]))
    return Page(tuple(items), len(ordered), following)


def page_start(limit: int, cursor: str | None, listing: str, scope: str) -> LanePosition | None:
    """Where a page of ``listing`` and ``scope`` starts: after the position its cursor holds
    (``None``: the first page); the ``limit`` and the cursor checked first."""
    check_limit(limit)
    return None if cursor is None else decode_position(cursor, listing, scope)
