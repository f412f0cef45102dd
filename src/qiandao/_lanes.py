"""Work lanes: each role's queues, paged by keyset, urgent first; the inbox; late reviews."""

from __future__ import annotations

from datetime import datetime

import attrs

from qiandao._core import Actor, unit_of
from qiandao._inbox import ItemView, QueryCommands, _after, _listing_scope
from qiandao.errors import PermissionDenied
from qiandao.lanes import (
    ASSIGNMENT_LANES,
    UNIT_LANES,
    Lane,
    item_position,
    lane_position,
    lanes_of,
    signer_keys,
)
from qiandao.model import Item, ReviewStage
from qiandao.paging import Page, check_limit, decode_position, encode_position
from qiandao.ports.store import ItemOrder, ItemQuery, LaneQuery, ReviewWaitQuery
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.roles import OFFICE_ROLES, SIGNER_ROLES, SUBMITTER_ROLES
from qiandao.workflow.timeliness import ReviewWaitFacts, review_wait, wait_cutoffs

__all__ = ["LaneCommands", "LanePage", "OverdueReview"]

_REVIEW_BATCH = 200  # candidates read per round while looking for overdue reviews


@attrs.frozen
class LanePage(Page[ItemView]):
    """One page of a lane: a :class:`~qiandao.paging.Page` of its rows as the actor may see
    them, with the lane it is of.

    ``assignment_ids`` names, per row, the assignment it is about (assignment lanes: 申退待处理,
    延期待批, 待签收, 办理中, 重新办理), ``None`` in item lanes.
    """

    lane: Lane
    assignment_ids: tuple[str | None, ...] = ()


@attrs.frozen
class OverdueReview:
    """An item waiting at a review stage past its window (急事急报, 第五条)."""

    item: ItemView
    stage: ReviewStage
    since: datetime  # when it entered the stage
    waited_workdays: int
    window_workdays: int


class LaneCommands(QueryCommands):
    """Lanes, lane counts, the inbox built on them, and the office's list of late reviews."""

    def _lane_query(self, actor: Actor, lane: Lane) -> tuple[LaneQuery, str]:
        """The store query of ``lane`` for this actor, and the scope its cursors are bound to."""
        if lane not in lanes_of(actor.role):
            raise PermissionDenied(f"{actor.role.label}没有“{lane.label}”队列", lane=lane.value)
        if lane in UNIT_LANES:
            unit = unit_of(actor)
            return LaneQuery(lane, unit_id=unit), f"unit:{unit}"
        j = actor.jurisdiction
        scope = f"{actor.role.value}@{j}"
        if actor.role in SIGNER_ROLES:
            keys = signer_keys(actor.role, self.rules_for(j).tiers)
            return LaneQuery(lane, jurisdiction=j, destination_keys=keys), scope
        return LaneQuery(lane, jurisdiction=j), scope

    def lane(
        self, actor: Actor, lane: Lane | str, *, limit: int = 50, cursor: str | None = None
    ) -> LanePage:
        """One page of one of the actor's lanes: urgent first, then the lane's own order.

        ``cursor`` is the ``next_cursor`` of the previous page; rows inserted meanwhile never make
        a later page repeat or skip a row, but a row whose sort key changes between pages (an
        approved extension moving its due day, a send-back giving a later ``state_since``) can
        move from one page to another. The page's rows and ``total`` come from one snapshot.
        A cursor only carries a position and grants nothing: the actor's scope always applies.
        A lane the role does not have is ``permission.denied``; a malformed cursor, or one of
        another lane or actor scope, is ``input.invalid``.
        """
        page, items = self._lane_page(actor, lane, limit, cursor)
        self._audit_listing(items)
        return page

    def _lane_page(
        self, actor: Actor, lane: Lane | str, limit: int, cursor: str | None
    ) -> tuple[LanePage, list[Item]]:
        """One page of a lane and its items as stored (for the audit of the listing)."""
        check_limit(limit)
        chosen = Lane.parse(lane, "lane")
        now = self.now()
        with self._reading(actor) as uow:
            query, scope = self._lane_query(actor, chosen)
            if cursor is not None:
                dated = chosen in ASSIGNMENT_LANES
                after = decode_position(cursor, chosen.value, scope, dated=dated, paired=dated)
                query = attrs.evolve(query, after=after)
            rows, total = uow.items.lane_page(attrs.evolve(query, limit=limit + 1))
            more = len(rows) > limit
            rows = rows[:limit]
            views = self._views_in(uow, actor, [item for item, _ in rows], now)
        following = None
        if more:
            following = encode_position(chosen.value, scope, lane_position(chosen, *rows[-1]))
        page = LanePage(
            items=tuple(views),
            total=total,
            next_cursor=following,
            lane=chosen,
            assignment_ids=tuple(None if a is None else a.id for _, a in rows),
        )
        return page, [item for item, _ in rows]

    def lane_counts(self, actor: Actor) -> dict[Lane, int]:
        """How many rows each lane of the actor's role has, in one unit of work (roles without
        lanes, such as submitters: an empty mapping)."""
        with self._reading(actor) as uow:
            queries = [self._lane_query(actor, lane)[0] for lane in lanes_of(actor.role)]
            counts = uow.items.lane_counts(queries) if queries else {}
        return {q.lane: counts.get(q.lane, 0) for q in queries}

    def inbox(self, actor: Actor, *, limit: int = 50) -> list[ItemView]:
        """What awaits the actor: the first rows of each of its lanes, urgent first, an item
        once. Submitters: their drafts, returned, in-handling and replied items, urgent first."""
        check_limit(limit)
        if actor.role in SUBMITTER_ROLES:
            states = frozenset(
                {ItemState.DRAFT, ItemState.RETURNED, ItemState.REPLIED, ItemState.HANDLING}
            )
            mine = ItemQuery(
                author_id=actor.account_id,
                states=states,
                order=ItemOrder.URGENT_FIRST,  # 急事急报 in every queue, the author's too
                limit=limit,
            )
            return self._views(actor, mine)
        now = self.now()
        with self._reading(actor) as uow:  # the actor is checked even where it has no lanes
            # each lane's first rows, an item once, in one snapshot; views are built only for
            # the items listed (a view decides the actor's allowed actions: not for the rest)
            first: dict[str, Item] = {}
            for lane in lanes_of(actor.role):
                query = attrs.evolve(self._lane_query(actor, lane)[0], limit=limit)
                for item, _ in uow.items.lane(query):
                    first.setdefault(item.id, item)
            # each lane is urgent first; across lanes too (a stable sort keeps each lane's order)
            found = list(first.values())
            listed = ([i for i in found if i.urgent] + [i for i in found if not i.urgent])[:limit]
            views = self._views_in(uow, actor, listed, now)
        self._audit_listing(listed)
        return views

    def overdue_reviews(
        self, actor: Actor, *, limit: int = 100, cursor: str | None = None
    ) -> Page[OverdueReview]:
        """Items of the actor's jurisdiction waiting at 初审, 审核 or 签发 past their window
        (第五条), urgent first, then oldest, a page at a time (``cursor`` as in
        :meth:`my_items`). Office roles only.

        Whether a wait is past its window is counted in working days, so every page reads the
        items waiting since before the cut-offs (a backlog, not the history) and counts them
        for the total.
        """
        check_limit(limit)
        listing = "overdue_reviews"
        after = _after(cursor, listing, _listing_scope(actor))
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有办公室工作人员可以查看审核超时清单", article="第五条")
        now = self.now()
        today = local_day(now)
        intake = self.rules_for(actor.jurisdiction).intake
        before, urgent_before = wait_cutoffs(today, [intake])
        query = ReviewWaitQuery(
            before, urgent_before, jurisdiction=actor.jurisdiction, limit=_REVIEW_BATCH
        )
        late: list[tuple[Item, ReviewWaitFacts]] = []
        with self._reading(actor) as uow:
            while True:
                batch = uow.items.review_waits(query)
                for item in batch:
                    wait = review_wait(self.calendar, intake, item, today)
                    if wait is not None and wait.overdue:
                        late.append((item, wait))
                if len(batch) < _REVIEW_BATCH:
                    break
                query = attrs.evolve(query, after=item_position(batch[-1]))
            rest = [pair for pair in late if after is None or item_position(pair[0]) > after]
            shown = rest[:limit]
            views = self._views_in(uow, actor, [item for item, _ in shown], now)
        found = tuple(
            OverdueReview(view, w.stage, w.since, w.waited_workdays, w.window_workdays)
            for view, (_, w) in zip(views, shown, strict=True)
        )
        following = None
        if len(rest) > limit:
            position = item_position(shown[-1][0])
            following = encode_position(listing, _listing_scope(actor), position)
        self._audit_listing(item for item, _ in shown)
        return Page(found, len(late), following)
