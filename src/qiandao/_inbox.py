"""Queries: what awaits me, my items, published items, overdue lists, detail, bulletins."""

from __future__ import annotations

from datetime import datetime

import attrs

from qiandao._core import Actor, _Core, check_ids, unit_of
from qiandao.calendar import DeadlineExplanation
from qiandao.errors import NotFound, PermissionDenied
from qiandao.lanes import LanePosition
from qiandao.model import Assignment, Feedback, Item, ReviewRecord, TextVersion
from qiandao.paging import Page, check_limit, decode_position, encode_position
from qiandao.ports.store import AssignmentQuery, ItemOrder, ItemQuery
from qiandao.queries import assignment_position, order_position
from qiandao.reporting import Bulletin, bulletin
from qiandao.rules.deadlines import DeadlineStatus, classify, local_day
from qiandao.rules.lifecycle import (
    AWAITING_UNIT_STATES,
    ItemState,
)
from qiandao.rules.points import Period, RankedScore
from qiandao.rules.publication import Access, access
from qiandao.rules.roles import ADMIN_ROLES, OFFICE_ROLES, Role
from qiandao.statistics import StatisticsQuery

__all__ = ["AssignmentView", "ItemView", "QueryCommands"]


@attrs.frozen
class AssignmentView:
    """An assignment with its deadline status at the time of asking."""

    assignment: Assignment
    status: DeadlineStatus | None  # None once replied, reassigned or cancelled


@attrs.frozen
class ItemView:
    """An item as one actor may see it; fields the actor may not see are empty."""

    id: str
    access: Access
    state: ItemState
    jurisdiction: str
    title: str
    body: str
    category: str
    urgent: bool
    published: bool
    lead_author_id: str | None
    issued_at: datetime | None
    texts: tuple[TextVersion, ...] = ()
    reviews: tuple[ReviewRecord, ...] = ()
    assignments: tuple[AssignmentView, ...] = ()
    # 第十一条: authors and the office read all; a unit reads what is shared with units
    feedback: tuple[Feedback, ...] = ()


def _after(
    cursor: str | None, listing: str, scope: str, *, rows: bool = False
) -> LanePosition | None:
    """The position a list's cursor holds (``None``: the first page); checked first.
    ``rows``: a list of assignment rows (a due day, the assignment and item ids)."""
    if cursor is None:
        return None
    return decode_position(cursor, listing, scope, dated=rows, paired=rows)


def _listing_scope(actor: Actor) -> str:
    """What a cursor of a list scoped by role is bound to: the unit, or role and place."""
    if actor.role is Role.HANDLING_UNIT:
        return f"unit:{actor.unit_id}"
    return f"{actor.role.value}@{actor.jurisdiction}"


class QueryCommands(_Core):
    """Read-side questions; every answer is filtered by what the asking actor may see."""

    def _view(
        self, actor: Actor, item: Item, now: datetime, level: Access | None = None
    ) -> ItemView:
        level = level or access(actor.viewer(), item.access_facts())
        if level is Access.NONE:
            raise NotFound(f"信息不存在：{item.id}", id=item.id)
        return self._view_of(item.as_seen(level, actor.unit_id), level, now)

    def _view_of(self, seen: Item, level: Access, now: datetime) -> ItemView:
        """The view of an item already projected to ``level`` (``Item.as_seen``), with each
        open assignment's deadline status at ``now``; it drops nothing ``seen`` still holds
        that the view shows, so a command's result maps to the detail of the same actor."""
        rules = self.rules_for(seen.jurisdiction).deadlines
        views = tuple(
            AssignmentView(a, classify(self.calendar, a.due, now, rules) if a.open else None)
            for a in seen.assignments
        )
        return ItemView(
            id=seen.id,
            access=level,
            state=seen.state,
            jurisdiction=seen.jurisdiction,
            title=seen.title,
            body=seen.body,
            category=seen.category.label,
            urgent=seen.urgent,
            published=seen.published,
            lead_author_id=seen.lead_author_id or None,
            issued_at=seen.issued_at,
            texts=seen.texts if level is Access.FULL else (),
            reviews=seen.reviews,
            assignments=views,
            feedback=seen.feedback,
        )

    def item_detail(self, actor: Actor, item_id: str) -> ItemView:
        """One item, filtered by the actor's access; an invisible item is "not found"."""
        check_ids(item_id=item_id)
        with self._reading(actor) as uow:
            item = uow.items.get(item_id)
        view = self._view(actor, item, self.now())
        if not item.published:  # a non-public read is audited before it is returned
            self._audit_read(secret=item.secret)
        return view

    def my_items(
        self, actor: Actor, *, limit: int = 50, cursor: str | None = None
    ) -> Page[ItemView]:
        """The actor's own items (as lead author or co-author), newest first, a page at a time.

        ``cursor``: the ``next_cursor`` of the previous page (``None``: the first page); one of
        another list or account is ``input.invalid`` (field ``cursor``).
        """
        check_limit(limit)
        listing = "my_items"
        after = _after(cursor, listing, actor.account_id)
        query = ItemQuery(author_id=actor.account_id, after=after)
        return self._item_page(actor, query, limit, listing, actor.account_id)

    def published(
        self, actor: Actor, *, limit: int = 50, cursor: str | None = None
    ) -> Page[ItemView]:
        """Published items (第十四条), newest issued first, a page at a time; 涉密 items never
        appear. ``cursor`` as in :meth:`my_items`."""
        check_limit(limit)
        listing, scope = "published", "public"
        after = _after(cursor, listing, scope)
        if actor.role in ADMIN_ROLES:
            raise PermissionDenied("系统管理人员不查看信息内容", article="设计§2.8")
        query = ItemQuery(published_only=True, order=ItemOrder.ISSUED_NEWEST_FIRST, after=after)
        return self._item_page(actor, query, limit, listing, scope, Access.PUBLISHED)

    def _item_page(
        self,
        actor: Actor,
        query: ItemQuery,
        limit: int,
        listing: str,
        scope: str,
        level: Access | None = None,
    ) -> Page[ItemView]:
        """One keyset page of ``query`` (one row more is read, to know whether one follows),
        its total, and the cursor of the next page; the non-public items it shows audited."""
        now = self.now()
        with self._reading(actor) as uow:
            found, total = uow.items.find_page(attrs.evolve(query, limit=limit + 1))
        items = found[:limit]
        following = None
        if len(found) > limit:
            following = encode_position(listing, scope, order_position(query.order, items[-1]))
        page = Page(tuple(self._view(actor, i, now, level) for i in items), total, following)
        self._audit_listing(items)
        return page

    def _views(self, actor: Actor, query: ItemQuery) -> list[ItemView]:
        now = self.now()
        with self._reading(actor) as uow:
            items = uow.items.find(query)
        views = [self._view(actor, i, now) for i in items]
        self._audit_listing(items)
        return views

    def overdue(
        self, actor: Actor, *, very: bool = False, limit: int = 100, cursor: str | None = None
    ) -> Page[tuple[ItemView, AssignmentView]]:
        """Assignments whose unit owes a reply past the deadline (or very overdue), oldest due
        first, a page at a time (``cursor`` as in :meth:`my_items`).

        A declined assignment waits on the office, not the unit, and is not listed. The cut-off
        date is computed once so the store can answer with one indexed query.
        """
        check_limit(limit)
        listing = "overdue_very" if very else "overdue"
        after = _after(cursor, listing, _listing_scope(actor), rows=True)
        now = self.now()
        today = local_day(now)
        if actor.role not in OFFICE_ROLES and actor.role is not Role.HANDLING_UNIT:
            raise PermissionDenied("只有办公室工作人员和承办单位可以查看逾期清单")
        rules = self.rules_for(actor.jurisdiction).deadlines
        cutoff = (
            self.calendar.add_working_days(today, -rules.very_overdue_workdays) if very else today
        )
        with self._reading(actor) as uow:
            query = AssignmentQuery(
                jurisdiction=actor.jurisdiction if actor.role in OFFICE_ROLES else None,
                unit_id=unit_of(actor) if actor.role is Role.HANDLING_UNIT else None,
                states=AWAITING_UNIT_STATES,
                due_before=cutoff,
                limit=limit + 1,
                after=after,
            )
            found, total = uow.items.assignment_page(query)
        pairs = found[:limit]
        following = None
        if len(found) > limit:
            position = assignment_position(*pairs[-1])
            following = encode_position(listing, _listing_scope(actor), position)
        rows = tuple(
            (
                self._view(actor, item, now),
                AssignmentView(a, classify(self.calendar, a.due, now, rules)),
            )
            for item, a in pairs
        )
        self._audit_listing(item for item, _ in pairs)
        return Page(rows, total, following)

    def explain_deadline(
        self, actor: Actor, item_id: str, assignment_id: str
    ) -> DeadlineExplanation:
        """Why an assignment is due when it is: working days counted, holidays and 调休 skipped."""
        check_ids(item_id=item_id, assignment_id=assignment_id)
        view = self.item_detail(actor, item_id)
        found = next(
            (a.assignment for a in view.assignments if a.assignment.id == assignment_id), None
        )
        if found is None:
            raise NotFound(f"交办记录不存在：{assignment_id}", id=assignment_id)
        start = local_day(found.assigned_at)
        return self.calendar.explain(start, self.calendar.working_days_between(start, found.due))

    def quarterly_bulletin(self, actor: Actor, year: int, quarter: int) -> Bulletin:
        """The quarterly bulletin of the actor's jurisdiction (office staff only)."""
        return self._bulletin(actor, Period.quarter(year, quarter))

    def _bulletin(self, actor: Actor, period: Period) -> Bulletin:
        """Counts aggregated by the store (never every item loaded), scored with the points
        table of the actor's jurisdiction."""
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有办公室工作人员可以查看通报")
        query = StatisticsQuery(actor.jurisdiction, period, local_day(self.now()))
        with self._reading(actor) as uow:
            stats = uow.items.statistics(query)
        result = bulletin(stats, self.rules_for(actor.jurisdiction).points)
        self._audit_read()  # an export (第十八条): audited before it is returned
        return result

    def assessment(self, actor: Actor, year: int) -> list[RankedScore]:
        """Year-end assessment (年终考核): every person's score from the points table, ranked."""
        return list(self._bulletin(actor, Period.year(year)).ranking)
