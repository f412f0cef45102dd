"""The change feed: every item event in commit order, as one actor may see it now.

A follower (a data centre, a search index) reads pages with :meth:`Qiandao.events_since` and
keeps the page's ``next_cursor``; the next call returns only what committed after it. Each
event is shown through the access rule of ``item_detail`` (``rules.publication.access`` on the
item as it is now) and reduced to what that level shows (:func:`feed_entry`); an event the actor
may not see is skipped, and the cursor moves past it all the same.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from qiandao.errors import InvalidInput
from qiandao.events import Change, Event, EventKind, ItemPatch
from qiandao.model import Item
from qiandao.rules.publication import Access, Viewer, access

__all__ = [
    "CURSOR_DIGITS",
    "PUBLIC_FEED_KINDS",
    "FeedEntry",
    "FeedPage",
    "cursor_of",
    "feed_entry",
    "position_of",
]

CURSOR_DIGITS = 18
"""The longest cursor (decimal digits of a position; positions are 64-bit in SQL)."""

PUBLIC_FEED_KINDS = frozenset(
    {
        EventKind.SIGNED,
        EventKind.CLOSED,
        EventKind.PUBLICATION_CONSENT_SET,
        EventKind.RECLASSIFIED,
    }
)
"""The events a reader of the published text (``Access.PUBLISHED``) sees of a published item:
issue, close, and the two changes that can (re)publish it (第十四条)."""


@attrs.frozen
class FeedEntry:
    """One event of the change feed, reduced to what the asking actor may see of it now.

    ``position``: the event's store-wide position (increasing in commit order). ``kind``: what
    happened (``EventKind``, wire ``{code, label}``). ``actor_id``: who did it, shown at ``FULL``
    access or when it was the reader; ``""`` otherwise. ``access``: the level the entry was cut
    to. ``change``: the event's visible payload (an ``events.Change``); at ``FULL`` the whole
    change, below it only the new state, the dates and flags of ``Item.as_seen`` (submitted,
    issued and closed times, 涉密, body withheld, merged into, an anonymous opt-out mark), the
    unit's own assignment and the feedback shared with units; never notes, texts or reviews.
    """

    position: int
    at: datetime
    item_id: str
    sequence: int
    kind: EventKind
    actor_id: str
    access: Access
    change: Change


@attrs.frozen
class FeedPage:
    """One page of the change feed.

    ``items``: the visible entries in position order (at most the page's limit). ``next_cursor``:
    what to pass next time (past every event read for this page, shown or skipped; the cursor
    given when nothing was read). ``caught_up``: every event committed when the page was read has
    been read (ask again later); ``False`` means more may be read at once.
    """

    items: tuple[FeedEntry, ...]
    next_cursor: str
    caught_up: bool


def position_of(cursor: object) -> int:
    """The position a cursor stands for (``None``: before the first event, 0).

    A cursor is the text a page's ``next_cursor`` gave, 1 to :data:`CURSOR_DIGITS` decimal
    digits; anything else is ``input.invalid`` (field ``cursor``).
    """
    if cursor is None:
        return 0
    if (
        not isinstance(cursor, str)
        or not 0 < len(cursor) <= CURSOR_DIGITS
        or not cursor.isascii()
        or not cursor.isdigit()
    ):
        raise InvalidInput("游标不合法", field="cursor")
    return int(cursor)


def cursor_of(position: int) -> str:
    """The cursor of a position."""
    return str(position)


_NO_PATCH = ItemPatch()


def _visible_patch(patch: ItemPatch) -> ItemPatch:
    """The fields of a patch that ``Item.as_seen`` keeps below ``FULL``."""
    if patch == _NO_PATCH:
        return patch
    opted = patch.opted_out
    return ItemPatch(
        submitted_at=patch.submitted_at,
        issued_at=patch.issued_at,
        closed_at=patch.closed_at,
        secret=patch.secret,
        body_withheld=patch.body_withheld,
        merged_into=patch.merged_into,
        # who refused publication is not shown; that someone did is (as in ``Item.as_seen``)
        opted_out=None if opted is None else frozenset({""}) if opted else frozenset(),
    )


def _visible_change(event: Event, level: Access, unit_id: str | None) -> Change | None:
    """What ``level`` shows of the event's change, or ``None`` for an event it does not show."""
    change = event.change
    if level is Access.FULL:
        return change
    fields = _visible_patch(change.fields)
    if level is Access.ISSUED_TEXT:
        own = change.assignment
        if own is not None and own.unit_id == unit_id:
            return Change(state=change.state, assignment=own, fields=fields)
        shared = change.feedback
        if shared is not None and shared.shared_with_units:
            return Change(feedback=shared)
        if event.kind is EventKind.CLOSED:
            return Change(state=change.state, fields=fields)
        return None
    if level is Access.PUBLISHED and event.kind in PUBLIC_FEED_KINDS:
        return Change(state=change.state, fields=fields)
    return None


def feed_entry(position: int, event: Event, item: Item, viewer: Viewer) -> FeedEntry | None:
    """The entry ``viewer`` sees of ``event``, judged on ``item`` as it is now; ``None`` when
    the viewer may not see the item now, or sees it but not this kind of event.

    The level is ``access(viewer, item.access_facts())`` (as ``item_detail``): an author or the
    office (``FULL``) sees every event whole; a unit (``ISSUED_TEXT``) the events of its own
    assignment, the feedback shared with units and the close; a reader of the published text
    (``PUBLISHED``) the events of :data:`PUBLIC_FEED_KINDS`.
    """
    level = access(viewer, item.access_facts())
    if level is Access.NONE:
        return None
    change = _visible_change(event, level, viewer.unit_id)
    if change is None:
        return None
    shown_actor = level is Access.FULL or event.actor_id == viewer.account_id
    return FeedEntry(
        position=position,
        at=event.at,
        item_id=event.item_id,
        sequence=event.sequence,
        kind=event.kind,
        actor_id=event.actor_id if shown_actor else "",
        access=level,
        change=change,
    )
