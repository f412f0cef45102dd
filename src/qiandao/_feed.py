"""The change feed query: ``events_since`` (see :mod:`qiandao.feed`)."""

from __future__ import annotations

from qiandao._core import Actor, _Core
from qiandao.errors import InvalidInput, PermissionDenied
from qiandao.feed import FeedEntry, FeedPage, cursor_of, feed_entry, position_of
from qiandao.model import Item
from qiandao.rules.roles import ADMIN_ROLES

__all__ = ["FEED_MAX_PAGE", "FEED_SCAN_PAGES", "FeedCommands"]

FEED_MAX_PAGE = 500
"""The largest ``limit`` of one feed page."""

FEED_SCAN_PAGES = 10
"""How many pages' worth of events one call reads at most while looking for visible ones: a
follower who may see few events still gets an answer in bounded time (its cursor moves on)."""


class FeedCommands(_Core):
    """The change feed: every item event in commit order, filtered for the asking actor."""

    def events_since(self, actor: Actor, cursor: str | None = None, limit: int = 100) -> FeedPage:
        """The item events committed after ``cursor`` (``None``: from the first) that the actor
        may see now, in commit order, at most ``limit`` (1 to 500); keep ``next_cursor``.

        Each event is judged on its item as it is now, by the rule of ``item_detail``, and cut
        to what that level shows (:func:`qiandao.feed.feed_entry`); events of items the actor
        may not see are skipped without a trace but their position. The three administrators
        read no item content and are refused (``permission.denied``). Audited like a listing:
        the non-public items an answer shows are recorded.
        """
        if type(limit) is not int or not 0 < limit <= FEED_MAX_PAGE:
            raise InvalidInput(f"分页参数不合法（每页1至{FEED_MAX_PAGE}条）", field="limit")
        position = position_of(cursor)
        if actor.role in ADMIN_ROLES:
            raise PermissionDenied("系统管理人员不查看信息内容", article="第十九条")
        viewer = actor.viewer()
        entries: list[FeedEntry] = []
        items: dict[str, Item] = {}  # each item read once per page, as it is now
        caught_up = False
        with self._reading(actor) as uow:
            for _ in range(FEED_SCAN_PAGES):
                batch = uow.events.since(position, limit)
                for logged in batch:
                    event = logged.event
                    item = items.get(event.item_id) or uow.items.get(event.item_id)
                    items[item.id] = item
                    entry = feed_entry(logged.position, event, item, viewer)
                    position = logged.position
                    if entry is not None:
                        entries.append(entry)
                        if len(entries) == limit:
                            break
                if len(entries) == limit or len(batch) < limit:
                    caught_up = len(batch) < limit and (not batch or position == batch[-1].position)
                    break
        shown = {entry.item_id for entry in entries}
        self._audit_listing(items[item_id] for item_id in shown)
        return FeedPage(tuple(entries), cursor_of(position), caught_up)
