"""The rating scale and window of 第十二条, and re-handling after 不满意."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import attrs

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput, LimitExceeded, PermissionDenied, WindowClosed
from qiandao.rules.deadlines import Due, WorkdayCalendar, due_after, local_day

__all__ = [
    "GIVEN_RATINGS",
    "Rating",
    "RatingRules",
    "check_rater",
    "check_rating",
    "check_rating_open",
    "check_rehandle",
    "may_rate",
    "raters",
    "rating_window",
    "rating_window_closes",
]


class Rating(LabelledEnum):
    """The four grades of 第十二条."""

    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"
    NOT_RATED = "not_rated", "未评价"


GIVEN_RATINGS = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.DISSATISFIED})


@attrs.frozen
class RatingRules:
    """Window length, who may rate, and how often 不满意 may trigger re-handling."""

    window_workdays: int = attrs.field(default=15, validator=attrs.validators.ge(1))
    """Working days after a reply during which the author may rate it (第十二条)."""
    coauthors_may_rate: bool = False
    """Whether co-authors may rate too (the lead author always may)."""
    max_rehandles: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    """How many times a 不满意 rating may send an item back for re-handling (第十二条)."""


def rating_window(calendar: WorkdayCalendar, replied_on: date, rules: RatingRules) -> Due:
    """The rating window as a deadline: its last day, provisional in unpublished years."""
    return due_after(calendar, replied_on, rules.window_workdays)


def rating_window_closes(calendar: WorkdayCalendar, replied_on: date, rules: RatingRules) -> date:
    """Last day a first rating may be given; after it the reply stays 未评价."""
    return rating_window(calendar, replied_on, rules).day


def check_rating(
    rating: Rating,
    *,
    is_lead_author: bool,
    is_coauthor: bool,
    already_rated: bool,
    item_closed: bool,
    window_closes: date,
    now: datetime,
    rules: RatingRules,
) -> None:
    """Refuse a rating the rules do not allow; a given rating may change until the item closes."""
    if rating not in GIVEN_RATINGS:
        raise InvalidInput("评价只能是满意、基本满意或不满意（第十二条）", field="rating")
    check_rater(is_lead_author=is_lead_author, is_coauthor=is_coauthor, rules=rules)
    check_rating_open(item_closed=item_closed)
    if not already_rated and local_day(now) > window_closes:
        raise WindowClosed(f"评价期限已于{window_closes.isoformat()}届满")


def may_rate(*, is_lead_author: bool, is_coauthor: bool, rules: RatingRules) -> bool:
    """The member who submitted the item rates; co-authors too, if the rules say so."""
    return is_lead_author or (is_coauthor and rules.coauthors_may_rate)


def check_rater(*, is_lead_author: bool, is_coauthor: bool, rules: RatingRules) -> None:
    """Refuse anyone :func:`may_rate` does not allow (第十二条)."""
    if not may_rate(is_lead_author=is_lead_author, is_coauthor=is_coauthor, rules=rules):
        raise PermissionDenied("只有提交信息的委员可以评价（第十二条）", article="第十二条")


def raters(lead_author_id: str, coauthor_ids: Iterable[str], rules: RatingRules) -> tuple[str, ...]:
    """Everyone who may rate an item's replies (:func:`may_rate`), sorted: who to tell."""
    people = {lead_author_id, *coauthor_ids}
    return tuple(
        sorted(
            p
            for p in people
            if may_rate(
                is_lead_author=p == lead_author_id, is_coauthor=p != lead_author_id, rules=rules
            )
        )
    )


def check_rating_open(*, item_closed: bool) -> None:
    """Closing the item ends the author's right to give or change a rating (第十二条)."""
    if item_closed:
        raise WindowClosed("信息已办结，不能再评价")


def check_rehandle(latest: Rating, rehandles_done: int, rules: RatingRules) -> None:
    """Re-handling follows a 不满意 rating, at most ``max_rehandles`` times."""
    if latest is not Rating.DISSATISFIED:
        raise InvalidInput("只有评价为“不满意”的答复才能重新办理（第十二条）", field="rating")
    if rehandles_done >= rules.max_rehandles:
        raise LimitExceeded(
            f"重新办理最多{rules.max_rehandles}次", article="第十二条", limit=rules.max_rehandles
        )
