"""The periodic job: reminders once each per deadline, rating windows closing, safe reruns."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from qiandao import _jobs as jobs_module
from qiandao._jobs import JOB_LEASE, JOB_LEASE_NAME, SYSTEM_ACTOR_ID, JobReport
from qiandao.audit import AuditQuery
from qiandao.errors import ConcurrencyConflict
from qiandao.events import EventKind
from qiandao.model import Item
from qiandao.ports.store import UnitOfWork
from qiandao.rules.deadlines import DeadlineRules, DeadlineStatus, end_of_day
from qiandao.rules.rating import Rating
from qiandao.rules.ruleset import RuleSet
from qiandao.service import Qiandao
from tests.helpers import DH, World, at, fails, make_world

S = DeadlineStatus


@pytest.fixture
def w() -> World:
    return make_world()


def run_at(w: World, now: datetime) -> JobReport:
    """Move the clock to ``now`` and run the job (the clock is its only time source)."""
    w.clock.set(now)
    return w.qd.run_due_jobs()


def reminder_count(w: World, item_id: str) -> int:
    return sum(1 for e in w.events(item_id) if e.kind is EventKind.REMINDER_SENT)


def test_each_reminder_is_sent_once_per_assignment(w: World) -> None:
    item, (a, _b) = w.assigned("u-a", "u-b")  # Monday 2 March; due Monday 23 March
    w.qd.accept(w.unit("u-a"), item.id, a.id)
    expected = [
        (at(2026, 3, 17), {}),  # four working days left: on track
        (at(2026, 3, 18), {S.DUE_SOON: 2}),
        (at(2026, 3, 18, 18), {}),
        (at(2026, 3, 20), {}),
        (at(2026, 3, 23, 23, 59), {S.DUE_TODAY: 2}),
        (at(2026, 3, 24, 0, 1), {S.OVERDUE: 2}),
        (at(2026, 4, 7), {}),  # ten working days later, 清明 (4–6 April) skipped
        (at(2026, 4, 8), {S.VERY_OVERDUE: 2}),
        (at(2026, 5, 8), {}),
    ]
    for now, sent in expected:
        report = run_at(w, now)
        assert {s: n for s, n in report.reminders.items() if n} == sent, now
        assert report.reminders_sent == sum(sent.values())
    for x in w.load(item.id).assignments:
        assert x.reminders == {S.DUE_SOON, S.DUE_TODAY, S.OVERDUE, S.VERY_OVERDUE}
    assert reminder_count(w, item.id) == 8
    reminders = [e for e in w.events(item.id) if e.kind is EventKind.REMINDER_SENT]
    assert {e.actor_id for e in reminders} == {SYSTEM_ACTOR_ID}
    # every reminder is out: later runs no longer even load the item
    assert list(w.qd._candidate_items(at(2026, 6, 1))) == []
    notices = [n for n in w.notifier.sent if n.kind == "reminder_sent"]
    assert len(notices) == 8
    assert {n.recipients for n in notices} == {
        ("unit:u-a", "role:editor@zhoushan"),
        ("unit:u-b", "role:editor@zhoushan"),
    }


def test_running_twice_changes_nothing(w: World) -> None:
    item, _ = w.assigned("u-a")
    now = at(2026, 3, 24)
    first = run_at(w, now)
    version, events, sent = w.load(item.id).version, w.events(item.id), len(w.notifier.sent)
    second = run_at(w, now)
    assert first.reminders[S.OVERDUE] == 1
    assert second.reminders_sent == 0 and second.ratings_closed == 0
    assert (w.load(item.id).version, w.events(item.id), len(w.notifier.sent)) == (
        version,
        events,
        sent,
    )


def test_a_late_first_run_sends_only_the_current_status(w: World) -> None:
    item, (_a,) = w.assigned("u-a")
    report = run_at(w, at(2026, 4, 9))
    assert report.reminders[S.VERY_OVERDUE] == 1
    assert report.reminders_sent == 1
    assert w.load(item.id).assignments[0].reminders == {S.VERY_OVERDUE}


def test_the_job_runs_on_the_clock_and_refuses_naive_times(w: World) -> None:
    w.assigned("u-a")
    w.clock.set(at(2026, 3, 23))
    assert w.qd.run_due_jobs().reminders[S.DUE_TODAY] == 1
    fails("input.invalid", lambda: run_at(w, datetime(2026, 3, 24)))


def test_replied_and_cancelled_assignments_get_no_reminders(w: World) -> None:
    item, (a, b, _c) = w.assigned("u-a", "u-b", "u-c")
    w.qd.accept(w.unit("u-a"), item.id, a.id)
    w.qd.reply(w.unit("u-a"), item.id, a.id, "答复。")
    w.qd.cancel_assignment(w.editor, item.id, b.id, "交办有误")
    report = run_at(w, at(2026, 3, 24))
    assert report.reminders[S.OVERDUE] == 1
    reminded = [x.unit_id for x in w.load(item.id).assignments if x.reminders]
    assert reminded == ["u-c"]


def test_a_new_deadline_gets_its_own_reminders(w: World) -> None:
    item, (a,) = w.accepted("u-a")
    run_at(w, at(2026, 3, 18))
    w.clock.set(at(2026, 3, 19))
    w.qd.request_extension(w.unit("u-a"), item.id, a.id, 10, "情况复杂")
    w.qd.approve_extension(w.editor, item.id, a.id)  # due 7 April (清明 skipped)
    assert run_at(w, at(2026, 3, 24)).reminders_sent == 0
    assert run_at(w, at(2026, 4, 2)).reminders[S.DUE_SOON] == 1


def test_county_thresholds_apply_to_county_items() -> None:
    county = RuleSet(
        jurisdiction=DH, name="定海区政协", deadlines=DeadlineRules(due_soon_workdays=5)
    )
    w = make_world(county_rules=county)
    city, _ = w.assigned("u-a")
    county_item = w.qd.assign(w.county["editor"], w.issued(w.county).id, ["u-dh"])
    report = run_at(w, at(2026, 3, 16))  # 5 working days before 23 March
    assert report.reminders[S.DUE_SOON] == 1
    assert w.load(county_item.id).assignments[0].reminders == {S.DUE_SOON}
    assert w.load(city.id).assignments[0].reminders == frozenset()


# --- rating windows -----------------------------------------------------------------------


def replied(w: World) -> tuple[str, str]:
    item, (a,) = w.accepted("u-a")
    w.clock.set(at(2026, 3, 10))
    w.qd.reply(w.unit("u-a"), item.id, a.id, "答复。")
    return item.id, a.id  # the rating window closes at the end of 31 March


def test_rating_window_closes_once_and_a_later_first_rating_is_refused(w: World) -> None:
    item_id, a_id = replied(w)
    assert run_at(w, at(2026, 3, 31, 23)).ratings_closed == 0
    report = run_at(w, at(2026, 4, 1, 8))
    assert report.ratings_closed == 1
    (a,) = w.load(item_id).assignments
    assert a.rating is Rating.NOT_RATED
    assert a.rated_at == end_of_day(date(2026, 3, 31))
    assert w.events(item_id)[-1].kind is EventKind.RATING_CLOSED
    assert w.events(item_id)[-1].actor_id == SYSTEM_ACTOR_ID
    version = w.load(item_id).version
    assert run_at(w, at(2026, 4, 2)).ratings_closed == 0
    assert w.load(item_id).version == version
    w.clock.set(at(2026, 4, 2))
    fails("rating.window_closed", lambda: w.qd.rate(w.member, item_id, a_id, "满意"))
    assert w.load(item_id).version == version


def test_given_ratings_are_not_closed(w: World) -> None:
    item_id, a_id = replied(w)
    w.qd.rate(w.member, item_id, a_id, "基本满意")
    assert run_at(w, at(2026, 4, 10)).ratings_closed == 0
    assert w.load(item_id).assignments[0].rating is Rating.BASICALLY_SATISFIED


# --- failures -----------------------------------------------------------------------------


def test_a_failing_notifier_loses_nothing(w: World) -> None:
    item, _ = w.assigned("u-a", "u-b")
    w.notifier.failing = True
    report = run_at(w, at(2026, 3, 18))
    assert report.reminders[S.DUE_SOON] == 2
    pending = [m for m in w.outbox() if m.notice.kind == "reminder_sent"]
    assert len(pending) == 2
    assert all(m.attempts >= 1 for m in pending)
    assert run_at(w, at(2026, 3, 18, 12)).reminders_sent == 0  # nothing re-decided
    w.notifier.failing = False
    assert w.qd.dispatch().sent == 0  # the failed reminders wait for their next attempt
    w.clock.set(at(2026, 3, 18, 13))  # the backoff's cap has passed
    dispatched = w.qd.dispatch()
    assert dispatched.sent == 2 and dispatched.failed == 0
    assert w.outbox() == []
    assert sorted(n.recipients[0] for n in w.notifier.sent if n.kind == "reminder_sent") == [
        "unit:u-a",
        "unit:u-b",
    ]
    assert reminder_count(w, item.id) == 2


def test_a_run_reads_due_rows_in_pages_and_decides_items_in_batches(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of the attention index and batches of items smaller than the due work: every
    item is reminded once, each batch recorded by one audit record, nothing read twice."""
    monkeypatch.setattr(jobs_module, "_ATTENTION_PAGE", 2)
    monkeypatch.setattr(jobs_module, "_JOB_BATCH", 2)
    items = [w.assigned("u-a", "u-b")[0] for _ in range(5)]  # ten rows, five items
    report = run_at(w, at(2026, 3, 18))
    assert (report.reminders[S.DUE_SOON], report.conflicts) == (10, 0)
    assert all(reminder_count(w, item.id) == 2 for item in items)
    assert run_at(w, at(2026, 3, 18, 10)).reminders_sent == 0
    with w.store.unit_of_work() as uow:
        records = uow.audit.query(AuditQuery(action="run_due_jobs", limit=100))
    batches = [r for r in records if "reminder_sent" in r.entry.events]
    assert sorted(len(r.entry.targets) for r in batches) == [1, 2, 2]


def test_a_conflict_on_one_item_does_not_stop_the_others(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim, _ = w.assigned("u-a")
    other, _ = w.assigned("u-a")
    real = w.store.unit_of_work

    def conflicting() -> UnitOfWork:
        uow = real()
        save = uow.items.save

        def guarded(item: Item, expected_version: int) -> None:
            if item.id == victim.id:
                raise ConcurrencyConflict(id=item.id)
            save(item, expected_version)

        uow.items.save = guarded  # type: ignore[method-assign]
        return uow

    monkeypatch.setattr(w.store, "unit_of_work", conflicting)
    report = run_at(w, at(2026, 3, 18))
    assert (report.conflicts, report.reminders[S.DUE_SOON]) == (1, 1)
    assert w.load(victim.id).assignments[0].reminders == frozenset()
    assert w.load(other.id).assignments[0].reminders == {S.DUE_SOON}
    monkeypatch.setattr(w.store, "unit_of_work", real)
    report = run_at(w, at(2026, 3, 18, 10))
    assert (report.conflicts, report.reminders[S.DUE_SOON]) == (0, 1)
    assert w.load(victim.id).assignments[0].reminders == {S.DUE_SOON}


# --- one run at a time across instances -------------------------------------------------------


def test_a_run_while_another_instance_holds_the_lease_does_nothing(w: World) -> None:
    item, _ = w.assigned("u-a", "u-b")
    now = at(2026, 3, 18)
    with w.qd.store.unit_of_work() as uow:  # another instance's run, still going
        assert uow.leases.acquire(JOB_LEASE_NAME, "other-instance", now, now + JOB_LEASE)
        uow.commit()
    assert run_at(w, now) == JobReport(skipped=True)
    assert reminder_count(w, item.id) == 0
    report = run_at(w, now + JOB_LEASE)  # its lease ran out (it crashed): this one runs
    assert (report.skipped, report.reminders[S.DUE_SOON]) == (False, 2)
    with w.qd.store.unit_of_work() as uow:  # released at the end of the run
        assert uow.leases.acquire(JOB_LEASE_NAME, "other-instance", now + JOB_LEASE, now)
    assert run_at(w, now + 2 * JOB_LEASE).reminders_sent == 0


def test_the_lease_is_released_when_a_run_fails(w: World) -> None:
    w.assigned("u-a")
    boom = RuntimeError("数据库断开")

    def fail(*_: object) -> list[str]:
        raise boom

    w.qd._candidate_items = fail  # type: ignore[method-assign,assignment]
    with pytest.raises(RuntimeError):
        run_at(w, at(2026, 3, 18))
    other = Qiandao(w.qd.store, clock=w.clock, hasher=None)
    assert other.run_due_jobs().skipped is False
