"""Review timeliness (急事急报, 第五条): how long an item has waited at 初审, 审核 or 签发.

Each review stage has a window of working days (``RuleSet.intake.review_workdays``; urgent items
``urgent_review_workdays``), counted with the calendar from the Asia/Shanghai day the item entered
the stage. An item still waiting after the window's last working day is overdue; the periodic job
records one REVIEW_OVERDUE event per stage entry (it reminds the responsible role).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import attrs

from qiandao.events import Change, EventKind, ItemPatch
from qiandao.lanes import REVIEW_LANES, entered_state_at, item_lane, review_reminded
from qiandao.model import Item, ReviewOverrun, ReviewStage
from qiandao.rules.deadlines import WorkdayCalendar, end_of_day, local_day
from qiandao.rules.ruleset import IntakeRules
from qiandao.workflow.context import Context, Decision

__all__ = ["ReviewWaitFacts", "review_overdue", "review_wait", "wait_cutoffs"]


@attrs.frozen
class ReviewWaitFacts:
    """How long an item has waited at its review stage, against its window."""

    stage: ReviewStage
    """The review stage the item waits at (初审, 审核 or 签发)."""
    since: datetime
    """When the item entered the stage (an aware datetime)."""
    waited_workdays: int
    """Working days after the day it entered, up to today."""
    window_workdays: int
    """Working days the stage may take (shorter for urgent items)."""
    last_day: date
    """The window's last working day."""
    overdue: bool
    """Whether today is after the window's last working day."""


def review_wait(
    calendar: WorkdayCalendar, rules: IntakeRules, item: Item, today: date
) -> ReviewWaitFacts | None:
    """The wait of an item at a review stage on ``today``; ``None`` when it is not at one."""
    lane = item_lane(item)
    if lane is None or lane not in REVIEW_LANES:
        return None
    since = entered_state_at(item)
    start = local_day(since)
    window = rules.urgent_review_workdays if item.urgent else rules.review_workdays
    last_day = calendar.add_working_days(start, window)
    return ReviewWaitFacts(
        stage=REVIEW_LANES[lane],
        since=since,
        waited_workdays=max(0, calendar.working_days_between(start, today)),
        window_workdays=window,
        last_day=last_day,
        overdue=today > last_day,
    )


def review_overdue(ctx: Context, item: Item) -> Decision:
    """One REVIEW_OVERDUE event when the item's review stage is past its window and this stage
    entry has not been reminded yet; nothing otherwise (the job may run any number of times)."""
    wait = review_wait(ctx.calendar, ctx.rules.intake, item, ctx.today)
    if wait is None or not wait.overdue or review_reminded(item):
        return []
    overrun = ReviewOverrun(
        stage=wait.stage,
        since=wait.since,
        at=ctx.now,
        waited_workdays=wait.waited_workdays,
        window_workdays=wait.window_workdays,
    )
    patch = ItemPatch(review_overruns=(*item.review_overruns, overrun))
    note = f"{wait.stage.label}已等待{wait.waited_workdays}个工作日（时限{wait.window_workdays}个）"
    return [(EventKind.REVIEW_OVERDUE, Change(fields=patch, note=note))]


def wait_cutoffs(today: date, rules: Iterable[IntakeRules]) -> tuple[datetime, datetime]:
    """Instants (normal, urgent) before which an item must have entered its stage to be overdue.

    A window of ``w`` working days spans at least ``w`` calendar days, so an overdue item entered
    before the local day ``today - w``: a superset the store finds by index, checked exactly by
    :func:`review_wait`. The smallest window of any jurisdiction gives the cut-off.
    """
    rules = list(rules)
    normal = min(r.review_workdays for r in rules)
    urgent = min(r.urgent_review_workdays for r in rules)

    # the instant the local day ``today - w`` starts is the end of the day before it
    return (
        end_of_day(today - timedelta(days=normal + 1)),
        end_of_day(today - timedelta(days=urgent + 1)),
    )
