"""Work lanes: each role's queues, paged by keyset, urgent first; the inbox; late reviews."""

from __future__ import annotations

from datetime import datetime

import attrs

from qiandao._core import Actor, unit_of
from qiandao._inbox import ItemView, QueryCommands, _page
from qiandao.errors import PermissionDenied
from qiandao.lanes import (
    UNIT_LANES,
    Lane,
    decode_cursor,
    encode_cursor,
    item_position,
    lane_position,
    lanes_of,
    signer_keys,
)
from qiandao.model import Item, ReviewStage
from qiandao.ports.store import ItemOrder, ItemQuery, LaneQuery, ReviewWaitQuery
from qiandao.rules.deadlines import local_day
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.roles import OFFICE_ROLES, SIGNER_ROLES, SUBMITTER_ROLES
from qiandao.workflow.timeliness import review_wait, wait_cutoffs

__all__ = ["LaneCommands", "LanePage", "OverdueReview"]

_REVIEW_BATCH = 200  # candidates read per round while looking for overdue reviews


@attrs.frozen
class LanePage:
    """One page of a lane: its rows as the actor may see them, the lane's total, and the cursor
    of the next page (``None`` on the last page).

    ``assignment_ids`` names, per row, the assignment it is about (assignment lanes: 申退待处理,
    延期待批, 待签收, 办理中, 重新办理), ``None`` in item lanes.
    """

    items: tuple[ItemView, ...]
    total: int
    next_cursor: str | None
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
        _page(limit)
        chosen = Lane.parse(lane, "lane")
        now = self.now()
        with self._reading(actor) as uow:
            query, scope = self._lane_query(actor, chosen)
            if cursor is not None:
                query = attrs.evolve(query, after=decode_cursor(cursor, chosen, scope))
            rows, total = uow.items.lane_page(attrs.evolve(query, limit=limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        following = None
        if more:
            following = encode_cursor(chosen, scope, lane_position(chosen, *rows[-1]))
        page = LanePage(
            items=tuple(self._view(actor, item, now) for item, _ in rows),
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
        _page(limit)
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
        views: dict[str, ItemView] = {}
        shown: dict[str, Item] = {}
        with self._reading(actor):  # the actor is checked even where it has no lanes
            pass
        for lane in lanes_of(actor.role):
            page, items = self._lane_page(actor, lane, limit, None)
            for view, item in zip(page.items, items, strict=True):
                views.setdefault(view.id, view)
                shown.setdefault(item.id, item)
        # each lane is urgent first; across lanes too (a stable sort keeps each lane's order)
        urgent = [v for v in views.values() if v.urgent]
        listed = (urgent + [v for v in views.values() if not v.urgent])[:limit]
        self._audit_listing(shown[v.id] for v in listed)
        return listed

    def overdue_reviews(self, actor: Actor, *, limit: int = 100) -> list[OverdueReview]:
        """Items of the actor's jurisdiction waiting at 初审, 审核 or 签发 past their window
        (第五条), urgent first, then oldest. Office roles only."""
        _page(limit)
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有办公室工作人员可以查看审核超时清单", article="第五条")
        now = self.now()
        today = local_day(now)
        intake = self.rules_for(actor.jurisdiction).intake
        before, urgent_before = wait_cutoffs(today, [intake])
        query = ReviewWaitQuery(
            before, urgent_before, jurisdiction=actor.jurisdiction, limit=_REVIEW_BATCH
        )
        found: list[OverdueReview] = []
        shown: list[Item] = []
        with self._reading(actor) as uow:
            while len(found) < limit:
                batch = uow.items.review_waits(query)
                for item in batch:
                    wait = review_wait(self.calendar, intake, item, today)
                    if wait is not None and wait.overdue:
                        view = self._view(actor, item, now)
                        shown.append(item)
                        found.append(
                            OverdueReview(
                                view,
                                wait.stage,
                                wait.since,
                                wait.waited_workdays,
                                wait.window_workdays,
                            )
                        )
                if len(batch) < _REVIEW_BATCH:
                    break
                query = attrs.evolve(query, after=item_position(batch[-1]))
        self._audit_listing(shown[:limit])
        return found[:limit]
