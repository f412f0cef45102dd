"""Queries: what awaits me, my items, published items, overdue lists, detail, bulletins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import attrs

from qiandao._core import Actor, _Core, check_ids, unit_of
from qiandao._planning import read_progress
from qiandao.calendar import DeadlineExplanation
from qiandao.errors import NotFound, PermissionDenied
from qiandao.lanes import LanePosition
from qiandao.model import (
    Assignment,
    Channel,
    Feedback,
    FocusCategory,
    Item,
    ReviewRecord,
    TextVersion,
)
from qiandao.paging import Page, check_limit, decode_position, encode_position
from qiandao.ports.store import AssignmentQuery, ItemOrder, ItemQuery, Names, UnitOfWork
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
from qiandao.rules.tiers import Destination
from qiandao.statistics import StatisticsQuery
from qiandao.workflow.actions import AllowedAction, allowed_actions, probe_context
from qiandao.workflow.context import Context

__all__ = ["AssignmentView", "ItemView", "QueryCommands"]


@attrs.frozen
class AssignmentView:
    """An assignment with its deadline status at the time of asking."""

    assignment: Assignment
    status: DeadlineStatus | None  # None once replied, reassigned or cancelled
    unit_name: str = ""  # the unit's display name ("" for a unit the store no longer knows)


@attrs.frozen
class ItemView:
    """An item as one actor may see it, with what a page shows of it: fields the actor may
    not see are empty, and ``names`` names only the people the view shows.

    ``names`` maps the account ids of the authors, of the reviewers in ``reviews`` and of the
    editors of ``texts`` to their real names; ``actions`` are the commands the caller may run
    on the item now (:func:`~qiandao.Qiandao.allowed_actions`).
    """

    id: str
    access: Access
    state: ItemState
    version: int
    jurisdiction: str
    jurisdiction_name: str
    title: str
    body: str
    category: FocusCategory
    channel: Channel  # ``WITHHELD`` where the authors are not shown
    sector: str
    urgent: bool
    secret: bool
    published: bool
    lead_author_id: str | None
    submitted_at: datetime | None
    issued_at: datetime | None
    destinations: tuple[Destination, ...] = ()
    coauthor_ids: tuple[str, ...] = ()
    names: Mapping[str, str] = attrs.field(factory=dict)
    texts: tuple[TextVersion, ...] = ()
    reviews: tuple[ReviewRecord, ...] = ()
    assignments: tuple[AssignmentView, ...] = ()
    # 第十一条: authors and the office read all; a unit reads what is shared with units
    feedback: tuple[Feedback, ...] = ()
    actions: tuple[AllowedAction, ...] = ()


@attrs.frozen
class Labels:
    """The display names a batch of views shows, read in one store call."""

    names: Names = attrs.field(factory=Names)
    jurisdictions: Mapping[str, str] = attrs.field(factory=dict)


def named_people(seen: Item) -> set[str]:
    """The accounts a view of ``seen`` (``Item.as_seen``) names: the authors, reviewers and
    text editors it shows (below ``FULL`` the projection holds no editor or reviewer)."""
    people = {seen.lead_author_id, *seen.coauthor_ids}
    people.update(r.actor_id for r in seen.reviews)
    people.update(t.editor_id for t in seen.texts)
    people.discard("")
    return people


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

    def _labels(self, uow: UnitOfWork, seen: Iterable[Item]) -> Labels:
        """Every name the views of ``seen`` show, in one directory call for the whole batch."""
        shown = list(seen)
        people = set().union(*(named_people(i) for i in shown))
        units = {a.unit_id for i in shown for a in i.assignments}
        codes = {i.jurisdiction for i in shown}
        names = uow.directory.names(people, units) if people or units else Names()
        stored = uow.jurisdictions.names(sorted(codes)) if codes else {}
        return Labels(names, {c: stored.get(c) or self._rule_name(c) for c in codes})

    def _rule_name(self, code: str) -> str:
        """A jurisdiction the store does not hold: its rules' name, else the code itself."""
        rules = self._rules.get(code)
        if rules is None and code == self._default_rules.jurisdiction:
            rules = self._default_rules
        return code if rules is None else rules.name

    def _seen(self, actor: Actor, item: Item, level: Access | None = None) -> tuple[Item, Access]:
        """The item projected to the actor's access level; an invisible item is "not found"."""
        level = level or access(actor.viewer(), item.access_facts())
        if level is Access.NONE:
            raise NotFound(f"信息不存在：{item.id}", id=item.id)
        return item.as_seen(level, actor.unit_id), level

    def _views_in(
        self,
        uow: UnitOfWork,
        actor: Actor,
        items: Sequence[Item],
        now: datetime,
        level: Access | None = None,
    ) -> list[ItemView]:
        """The views of ``items`` for ``actor``, their names read in one call on ``uow``."""
        seen = [self._seen(actor, item, level) for item in items]
        labels = self._labels(uow, (i for i, _ in seen))
        contexts: dict[str, Context] = {}  # per jurisdiction, for the whole page
        return [self._view_of(actor, i, lv, now, labels, contexts) for i, lv in seen]

    def _actions(
        self, actor: Actor, seen: Item, now: datetime, contexts: dict[str, Context] | None = None
    ) -> tuple[AllowedAction, ...]:
        """What ``actor`` may run on the item now, decided on the facts already loaded
        (``contexts``: the probing contexts built so far for the same page and instant)."""
        contexts = {} if contexts is None else contexts
        ctx = contexts.get(seen.jurisdiction)
        if ctx is None:
            ctx = contexts[seen.jurisdiction] = probe_context(self._context(seen.jurisdiction, now))
        return allowed_actions(ctx, actor, seen, self._jurisdictions())

    def _view_of(
        self,
        actor: Actor,
        seen: Item,
        level: Access,
        now: datetime,
        labels: Labels,
        contexts: dict[str, Context] | None = None,
    ) -> ItemView:
        """The view of an item already projected to ``level`` (``Item.as_seen``), with each
        open assignment's deadline status at ``now``, the names ``labels`` holds for it and the
        actor's allowed actions; it drops nothing ``seen`` still holds that the view shows, so
        a command's result maps to the detail of the same actor."""
        rules = self.rules_for(seen.jurisdiction).deadlines
        units = labels.names.units
        views = tuple(
            AssignmentView(
                a,
                classify(self.calendar, a.due, now, rules) if a.open else None,
                units.get(a.unit_id, ""),
            )
            for a in seen.assignments
        )
        people = labels.names.accounts
        return ItemView(
            id=seen.id,
            access=level,
            state=seen.state,
            version=seen.version,
            jurisdiction=seen.jurisdiction,
            jurisdiction_name=labels.jurisdictions.get(seen.jurisdiction, seen.jurisdiction),
            title=seen.title,
            body=seen.body,
            category=seen.category,
            channel=seen.channel,
            sector=seen.sector,
            urgent=seen.urgent,
            secret=seen.secret,
            published=seen.published,
            lead_author_id=seen.lead_author_id or None,
            submitted_at=seen.submitted_at,
            issued_at=seen.issued_at,
            destinations=tuple(d for d in Destination if d in seen.destinations),
            coauthor_ids=seen.coauthor_ids,
            names={p: people[p] for p in sorted(named_people(seen)) if p in people},
            texts=seen.texts if level is Access.FULL else (),
            reviews=seen.reviews,
            assignments=views,
            feedback=seen.feedback,
            actions=self._actions(actor, seen, now, contexts),
        )

    def item_detail(self, actor: Actor, item_id: str) -> ItemView:
        """One item, filtered by the actor's access; an invisible item is "not found"."""
        check_ids(item_id=item_id)
        now = self.now()
        with self._reading(actor) as uow:
            item = uow.items.get(item_id)
            (view,) = self._views_in(uow, actor, [item], now)
        if not item.published:  # a non-public read is audited before it is returned
            self._audit_read(secret=item.secret)
        return view

    def allowed_actions(self, actor: Actor, item_id: str) -> tuple[AllowedAction, ...]:
        """The commands the actor may run on the item now (for buttons and menus).

        Each is decided by the command's own rules on the facts as stored (role and state,
        author and lead author, the signer's tier, self-review, the unit's own assignment,
        jurisdiction, windows and deadlines), so an action listed here is one the command
        accepts with valid input, and one not listed is refused. Read like ``item_detail``: an
        invisible item is "not found", and a non-public item's read is audited.
        """
        check_ids(item_id=item_id)
        now = self.now()
        with self._reading(actor) as uow:
            item = uow.items.get(item_id)
        seen, _ = self._seen(actor, item)
        actions = self._actions(actor, seen, now)
        if not item.published:
            self._audit_read(secret=item.secret)
        return actions

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
            raise PermissionDenied("系统管理人员不查看信息内容", article="第十九条")
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
            views = self._views_in(uow, actor, items, now, level)
        following = None
        if len(found) > limit:
            following = encode_position(listing, scope, order_position(query.order, items[-1]))
        self._audit_listing(items)
        return Page(tuple(views), total, following)

    def _views(self, actor: Actor, query: ItemQuery) -> list[ItemView]:
        now = self.now()
        with self._reading(actor) as uow:
            items = uow.items.find(query)
            views = self._views_in(uow, actor, items, now)
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
            views = self._views_in(uow, actor, [item for item, _ in pairs], now)
        following = None
        if len(found) > limit:
            position = assignment_position(*pairs[-1])
            following = encode_position(listing, _listing_scope(actor), position)
        rows = []
        for view, (_, a) in zip(views, pairs, strict=True):
            # the view classified the (open) assignment at ``now`` already, and named its unit
            shown = next((v for v in view.assignments if v.assignment.id == a.id), None)
            rows.append(
                (view, shown or AssignmentView(a, classify(self.calendar, a.due, now, rules)))
            )
        self._audit_listing(item for item, _ in pairs)
        return Page(tuple(rows), total, following)

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

    def annual_bulletin(self, actor: Actor, year: int) -> Bulletin:
        """The bulletin of a whole year (office staff only): the year-end assessment's people
        with their counts and names, and each unit's handling of the year (第十三条)."""
        return self._bulletin(actor, Period.year(year))

    def _bulletin(self, actor: Actor, period: Period) -> Bulletin:
        """Counts aggregated by the store (never every item loaded), scored with the points
        table of the actor's jurisdiction."""
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有办公室工作人员可以查看通报")
        today = local_day(self.now())
        query = StatisticsQuery(actor.jurisdiction, period, today)
        with self._reading(actor) as uow:
            stats = uow.items.statistics(query)
            result = bulletin(stats, self.rules_for(actor.jurisdiction).points)
            plan = uow.plans.get(actor.jurisdiction, period.start.year)
            if plan is not None:
                progress = read_progress(uow, plan, min(period.end, today), today)
                result = attrs.evolve(result, plan=progress)
            people = {line.person_id for line in result.people}
            units = {line.unit_id for line in result.units}
            found = uow.directory.names(people, units) if people or units else None
        if found is not None:
            result = attrs.evolve(result, names=found.accounts, unit_names=found.units)
        self._audit_read()  # an export (第十八条): audited before it is returned
        return result

    def assessment(self, actor: Actor, year: int) -> list[RankedScore]:
        """Year-end assessment (年终考核): every person's score from the points table, ranked."""
        return list(self._bulletin(actor, Period.year(year)).ranking)
