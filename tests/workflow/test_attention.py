"""The stored attention key and the job's cut-offs find exactly the assignments the job acts on."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import attrs
import pytest

from qiandao.attention import Attention, AttentionKey, attention, attention_cutoffs
from qiandao.rules.deadlines import DeadlineRules, DeadlineStatus, classify
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES, AssignmentState
from qiandao.rules.rating import Rating
from qiandao.rules.ruleset import RuleSet
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing.builders import sample_assignment, sample_item
from qiandao.workflow import jobs
from tests.workflow.test_jobs import at, context

S = DeadlineStatus
A = AssignmentState
ORDER = (S.DUE_SOON, S.DUE_TODAY, S.OVERDUE, S.VERY_OVERDUE)
CALENDAR = ChinaWorkdays.official()


def _due(key: AttentionKey | None, today: date, rules: DeadlineRules) -> bool:
    if key is None:
        return False
    return key.day < attention_cutoffs(CALENDAR, today, [rules])[key.kind]


def _reachable(reminders: frozenset[S], status: S) -> bool:
    """Reminders a deadline can hold at a day of ``status`` (sent on earlier days or today's)."""
    rank = {s: n for n, s in enumerate(ORDER)}
    return (status in rank and all(rank[s] <= rank[status] for s in reminders)) or not reminders


@pytest.mark.parametrize(
    "rules", [DeadlineRules(), DeadlineRules(due_soon_workdays=0, very_overdue_workdays=1)]
)
def test_the_key_is_due_exactly_when_the_job_sends_a_reminder(rules: DeadlineRules) -> None:
    ruleset = attrs.evolve(RuleSet.zhoushan(), deadlines=rules)
    subsets = [
        frozenset(c) for n in range(len(ORDER) + 1) for c in itertools.combinations(ORDER, n)
    ]
    # due days around 国庆 and 春节 2026, every day from three weeks before to five weeks after
    for due in (date(2026, 9, 30), date(2026, 10, 9), date(2026, 2, 13), date(2026, 3, 4)):
        for offset in range(-21, 36):
            today = due + timedelta(days=offset)
            status = classify(CALENDAR, due, at(today), rules)
            for reminders, state in itertools.product(subsets, sorted(AWAITING_UNIT_STATES)):
                if not _reachable(reminders, status):
                    continue
                a = sample_assignment(state=state, due=due, reminders=reminders, replies=())
                item = sample_item(assignments=(a,))
                _, sent = jobs.due_events(context(at(today), ruleset, CALENDAR), item)
                assert _due(attention(a), today, rules) == bool(sent), (due, today, reminders)


def test_a_rating_window_is_due_the_day_after_it_ends() -> None:
    closes = date(2026, 5, 6)
    a = sample_assignment(rating=Rating.NOT_RATED, rated_at=None, rating_closes=closes)
    assert attention(a) == AttentionKey(Attention.RATING_CLOSE, closes)
    for offset in range(-3, 4):
        today = closes + timedelta(days=offset)
        item = sample_item(assignments=(a,))
        decision, _ = jobs.due_events(context(at(today), calendar=CALENDAR), item)
        assert _due(attention(a), today, DeadlineRules()) == bool(decision) == (offset > 0)


def test_nothing_is_awaited_after_the_last_reminder_or_the_rating() -> None:
    assert attention(sample_assignment()) is None  # replied and rated
    done = sample_assignment(state=A.ACCEPTED, reminders=frozenset({S.VERY_OVERDUE}))
    assert attention(done) is None
    skipped = sample_assignment(state=A.PENDING, reminders=frozenset({S.OVERDUE}))
    assert attention(skipped) == AttentionKey(Attention.VERY_OVERDUE, skipped.due)
    fresh = sample_assignment(state=A.PENDING, reminders=frozenset())
    assert attention(fresh) == AttentionKey(Attention.DUE_SOON, fresh.due)
    for state in set(A) - AWAITING_UNIT_STATES - {A.REPLIED}:
        assert attention(sample_assignment(state=state, rating=Rating.NOT_RATED)) is None


def test_county_overrides_use_the_loosest_figures() -> None:
    today = date(2026, 6, 1)
    strict, loose = DeadlineRules(due_soon_workdays=1), DeadlineRules(due_soon_workdays=5)
    both = attention_cutoffs(CALENDAR, today, [strict, loose])
    assert (
        both[Attention.DUE_SOON] == attention_cutoffs(CALENDAR, today, [loose])[Attention.DUE_SOON]
    )
    short = DeadlineRules(very_overdue_workdays=2)
    mixed = attention_cutoffs(CALENDAR, today, [DeadlineRules(), short])
    assert (
        mixed[Attention.VERY_OVERDUE]
        == attention_cutoffs(CALENDAR, today, [short])[Attention.VERY_OVERDUE]
    )
