"""Queries: what awaits me, my items, published items, overdue lists, detail, bulletins."""

from __future__ import annotations

from datetime import datetime

import attrs

from qiandao._core import Actor, _Core, check_ids, unit_of
from qiandao.calendar import DeadlineExplanation
from qiandao.errors import InvalidInput, NotFound, PermissionDenied
from qiandao.model import Assignment, Feedback, Item, ReviewRecord, TextVersion
from qiandao.ports.store import AssignmentQuery, ItemOrder, ItemQuery
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

MAX_PAGE = 500


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


def _page(limit: int, offset: int = 0) -> None:
    if type(limit) is not int or not 0 < limit <= MAX_PAGE or type(offset) is not int or offset < 0:
        raise InvalidInput(f"分页参数不合法（每页1至{MAX_PAGE}条）", field="limit")


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

    def my_items(self, actor: Actor, *, limit: int = 50, offset: int = 0) -> list[ItemView]:
        """The actor's own items (as lead author or co-author), newest first."""
        _page(limit, offset)
        query = ItemQuery(author_id=actor.account_id, limit=limit, offset=offset)
        return self._views(actor, query)

    def published(self, actor: Actor, *, limit: int = 50, offset: int = 0) -> list[ItemView]:
        """Published items (第十四条), newest issued first; 涉密 items never appear."""
        _page(limit, offset)
        if actor.role in ADMIN_ROLES:
            raise PermissionDenied("系统管理人员不查看信息内容", article="第十九条")
        query = ItemQuery(
            published_only=True, order=ItemOrder.ISSUED_NEWEST_FIRST, limit=limit, offset=offset
        )
        now = self.now()
        with self._reading(actor) as uow:
            items = uow.items.find(query)
        return [self._view(actor, i, now, Access.PUBLISHED) for i in items]

    def _views(self, actor: Actor, query: ItemQuery) -> list[ItemView]:
        now = self.now()
        with self._reading(actor) as uow:
            items = uow.items.find(query)
        views = [self._view(actor, i, now) for i in items]
        self._audit_listing(items)
        return views

    def overdue(
        self, actor: Actor, *, very: bool = False, limit: int = 100
    ) -> list[tuple[ItemView, AssignmentView]]:
        """Assignments whose unit owes a reply past the deadline (or very overdue), oldest first.

        A declined assignment waits on the office, not the unit, and is not listed. The cut-off
        date is computed once so the store can answer with one indexed query.
        """
        _page(limit)
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
                limit=limit,
            )
            pairs = uow.items.assignments(query)
        out = []
        for item, a in pairs:
            view = self._view(actor, item, now)
            out.append((view, AssignmentView(a, classify(self.calendar, a.due, now, rules))))
        self._audit_listing(item for item, _ in pairs)
        return out

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
