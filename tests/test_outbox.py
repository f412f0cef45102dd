"""The transactional outbox through the service: notices are recorded with their change, leave
after commit, survive a failing notifier, and reach the recorder exactly once (dedupe by id)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qiandao._core import DISPATCH_LEASE, Actor, DispatchReport
from qiandao.errors import QiandaoError
from qiandao.events import EventKind
from qiandao.model import Item
from qiandao.outbox import OutboxState, RetryPolicy
from qiandao.ports.notify import Notice, Notifier
from qiandao.ports.store import OutboxMessage
from qiandao.rules.deadlines import SHANGHAI
from qiandao.rules.lifecycle import ItemState
from qiandao.rules.roles import Role
from qiandao.service import Qiandao
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.clock import SystemClock
from qiandao_adapters.memory import MemoryStore
from qiandao_adapters.notifiers import RecordingNotifier

ZS = "zhoushan"
START = datetime(2025, 3, 3, 9, tzinfo=SHANGHAI)  # a Monday
MEMBER = Actor("m1", Role.MEMBER, ZS)
EDITOR = Actor("e1", Role.EDITOR, ZS)
DEPUTY = Actor("d1", Role.DEPUTY, ZS)
HEAD = Actor("h1", Role.OFFICE_HEAD, ZS)
OTHER_EDITOR = Actor("e9", Role.EDITOR, "dinghai")
DRAFT = {
    "title": "关于海岛渔民养老保险的建议 🐟",
    "body": "渔民参保率偏低。'; --",
    "category": "hot_issue",
}
FORWARD = ["forward_to_departments"]


class Setup:
    """A service over a memory store with a manual clock and a recording notifier."""

    def __init__(
        self, *, dispatch_after_commit: bool = True, notifier: Notifier | None = None
    ) -> None:
        self.store = MemoryStore()
        enrol(self.store, MEMBER, EDITOR, DEPUTY, HEAD, OTHER_EDITOR)
        self.clock = ManualClock(START)
        self.recorder = RecordingNotifier()
        self.qd = Qiandao(
            self.store,
            clock=self.clock,
            notifier=notifier or self.recorder,
            dispatch_after_commit=dispatch_after_commit,
            hasher=None,
        )

    def pending(self) -> list[OutboxMessage]:
        with self.store.unit_of_work() as uow:
            return uow.outbox.pending(1000)

    def event_ids(self, item_id: str, *kinds: EventKind) -> list[str]:
        with self.store.unit_of_work() as uow:
            return [e.id for e in uow.events.for_item(item_id) if e.kind in kinds]

    def through_signing(self) -> Item:
        """Submit, 初审, approve and sign, a minute apart."""
        item = self.qd.submit_new(MEMBER, DRAFT)
        self.clock.advance(minutes=1)
        self.qd.pass_preliminary(EDITOR, item.id, destinations=FORWARD, body="编辑后正文")
        self.clock.advance(minutes=1)
        self.qd.approve(DEPUTY, item.id)
        self.clock.advance(minutes=1)
        return self.qd.sign(HEAD, item.id)


_NOTIFYING = (
    EventKind.SUBMITTED,
    EventKind.PRELIMINARY_PASSED,
    EventKind.DEPUTY_APPROVED,
    EventKind.SIGNED,
)


class _Delegate:
    """A notifier that runs ``before`` on each send, then hands the notice to ``recorder``."""

    def __init__(self, recorder: RecordingNotifier, before: Callable[[Notice], None]) -> None:
        self.recorder = recorder
        self.before = before

    def send(self, notice: Notice) -> None:
        self.before(notice)
        self.recorder.send(notice)


# --- recorded with the change, dispatched after commit --------------------------------------


def test_a_notice_is_recorded_with_its_event_and_sent_after_commit() -> None:
    seen_committed: list[bool] = []
    recorder = RecordingNotifier()
    setup = Setup(notifier=_Delegate(recorder, lambda n: None))

    def check_committed(notice: Notice) -> None:
        with setup.store.unit_of_work() as uow:  # another unit of work sees the change
            item = uow.items.get(notice.item_id or "")
            seen_committed.append(
                item.state is ItemState.SUBMITTED
                and notice.id in [e.id for e in uow.events.for_item(item.id)]
            )

    setup.qd.notifier = _Delegate(recorder, check_committed)
    item = setup.qd.submit_new(MEMBER, DRAFT)

    assert seen_committed == [True]
    (notice,) = recorder.notices
    assert [notice.id] == setup.event_ids(item.id, EventKind.SUBMITTED)
    assert notice.kind == EventKind.SUBMITTED.value
    assert notice.recipients == (f"role:editor@{ZS}",)
    assert notice.item_id == item.id
    assert notice.at == START
    assert setup.pending() == []


def test_notices_of_several_commands_go_out_in_order() -> None:
    setup = Setup()
    item = setup.through_signing()
    assert item.state is ItemState.ISSUED
    assert setup.recorder.ids == setup.event_ids(item.id, *_NOTIFYING)
    assert [n.kind for n in setup.recorder.notices] == [k.value for k in _NOTIFYING]
    assert setup.recorder.to(MEMBER.account_id)[0].kind == EventKind.SIGNED.value
    assert setup.pending() == []


def test_without_dispatch_after_commit_notices_wait_for_dispatch() -> None:
    setup = Setup(dispatch_after_commit=False)
    item = setup.through_signing()
    assert setup.recorder.notices == []
    pending = setup.pending()
    assert [m.notice.id for m in pending] == setup.event_ids(item.id, *_NOTIFYING)
    assert [m.recorded_at for m in pending] == [START.replace(minute=n) for n in range(4)]
    assert all(m.attempts == 0 and m.dispatched_at is None for m in pending)

    assert setup.qd.dispatch(limit=1) == DispatchReport(sent=1, failed=0)
    assert setup.recorder.ids == [pending[0].notice.id]
    assert setup.qd.dispatch() == DispatchReport(sent=3, failed=0)
    assert setup.recorder.ids == [m.notice.id for m in pending]
    assert setup.pending() == []
    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=0)
    assert setup.recorder.calls == 4


def test_a_service_without_a_notifier_keeps_notices_pending() -> None:
    store = MemoryStore()
    enrol(store, MEMBER)
    qd = Qiandao(store, clock=ManualClock(START), hasher=None)
    item = qd.submit_new(MEMBER, DRAFT)
    assert qd.dispatch() == DispatchReport(sent=0, failed=0)
    with store.unit_of_work() as uow:
        assert [m.notice.item_id for m in uow.outbox.pending(10)] == [item.id]


# --- failures lose nothing --------------------------------------------------------------------


def test_a_failing_notifier_loses_nothing() -> None:
    setup = Setup()
    setup.recorder.fail_next(2)
    item = setup.qd.submit_new(MEMBER, DRAFT)  # the command still succeeds

    with setup.store.unit_of_work() as uow:
        assert uow.items.get(item.id).state is ItemState.SUBMITTED
    assert setup.recorder.notices == []
    (message,) = setup.pending()
    assert message.attempts == 1
    assert [message.notice.id] == setup.event_ids(item.id, EventKind.SUBMITTED)
    assert message.next_attempt_at == START + timedelta(seconds=30)  # the policy's base

    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=0)  # not due yet
    setup.clock.advance(seconds=30)
    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=1)
    (message,) = setup.pending()
    assert (message.attempts, message.next_attempt_at) == (2, START + timedelta(seconds=90))

    setup.clock.advance(minutes=5)
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)
    assert setup.recorder.ids == [message.notice.id]
    assert setup.pending() == []
    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=0)
    assert setup.recorder.ids == [message.notice.id]


def test_one_failing_notice_does_not_hold_back_the_others() -> None:
    setup = Setup(dispatch_after_commit=False)
    item = setup.through_signing()
    setup.recorder.fail_next(1)
    assert setup.qd.dispatch() == DispatchReport(sent=3, failed=1)
    expected = setup.event_ids(item.id, *_NOTIFYING)
    assert setup.recorder.ids == expected[1:]
    assert [m.notice.id for m in setup.pending()] == expected[:1]
    setup.clock.advance(minutes=1)
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)
    assert sorted(setup.recorder.ids) == sorted(expected)


def test_a_notice_sent_twice_is_delivered_once() -> None:
    # The gateway accepts the notice, then the call times out: the outbox cannot know it was
    # delivered, keeps it pending and sends it again; the receiving side drops the repeat.
    recorder = RecordingNotifier()
    timeouts = [TimeoutError("网关响应超时")]

    def deliver_then_time_out(notice: Notice) -> None:
        recorder.send(notice)
        if timeouts:
            raise timeouts.pop()

    class Flaky:
        def send(self, notice: Notice) -> None:
            deliver_then_time_out(notice)

    setup = Setup(notifier=Flaky())
    item = setup.qd.submit_new(MEMBER, DRAFT)
    (message,) = setup.pending()
    assert (message.attempts, message.last_error) == (1, "TimeoutError")  # the type, no text
    setup.clock.advance(minutes=1)
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)

    assert recorder.ids == setup.event_ids(item.id, EventKind.SUBMITTED)
    assert (recorder.calls, recorder.dropped) == (2, 1)
    assert setup.pending() == []


def test_a_second_dispatcher_skips_the_notices_another_has_claimed() -> None:
    # A second dispatcher runs while the first is sending: the notice is claimed under the
    # first one's lease, so the second sends nothing.
    recorder = RecordingNotifier()
    setup = Setup(dispatch_after_commit=False)
    other = Qiandao(setup.store, clock=setup.clock, notifier=recorder, hasher=None)
    reports: list[DispatchReport] = []

    def race(notice: Notice) -> None:
        if not reports:
            reports.append(other.dispatch())

    setup.qd.notifier = _Delegate(recorder, race)
    item = setup.qd.submit_new(MEMBER, DRAFT)
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)

    assert reports == [DispatchReport(sent=0, failed=0)]
    assert recorder.ids == setup.event_ids(item.id, EventKind.SUBMITTED)
    assert (recorder.calls, recorder.dropped) == (1, 0)
    assert setup.pending() == []


def test_a_crashed_dispatchers_notices_are_sent_when_its_lease_runs_out() -> None:
    setup = Setup(dispatch_after_commit=False)
    item = setup.qd.submit_new(MEMBER, DRAFT)
    with setup.store.unit_of_work() as uow:  # claimed, then the dispatcher died
        uow.outbox.claim(10, START, DISPATCH_LEASE, "crashed")
        uow.commit()
    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=0)
    setup.clock.advance(seconds=int(DISPATCH_LEASE.total_seconds()) - 1)
    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=0)
    setup.clock.advance(seconds=1)
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)
    assert setup.recorder.ids == setup.event_ids(item.id, EventKind.SUBMITTED)


def test_nothing_is_sent_after_the_lease_runs_out_and_a_stop_releases_the_rest() -> None:
    setup = Setup(dispatch_after_commit=False)
    item = setup.through_signing()
    expected = setup.event_ids(item.id, *_NOTIFYING)

    def slow(notice: Notice) -> None:  # each send takes two minutes
        setup.clock.advance(minutes=2)

    setup.qd.notifier = _Delegate(setup.recorder, slow)
    lease = timedelta(minutes=3)
    assert setup.qd.dispatch(lease=lease) == DispatchReport(sent=2, failed=0)
    assert setup.recorder.ids == expected[:2]
    assert [m.claimed_by for m in setup.pending()] == [None, None]  # released at once
    stops = iter([False, True])
    assert setup.qd.dispatch(stop=lambda: next(stops)) == DispatchReport(sent=1, failed=0)
    (left,) = setup.pending()
    assert (left.notice.id, left.claimed_by, left.attempts) == (expected[3], None, 0)
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)
    assert setup.recorder.ids == expected


def test_a_notice_that_keeps_failing_backs_off_then_is_dead_until_retried() -> None:
    policy = RetryPolicy(base=timedelta(minutes=1), factor=3, cap=timedelta(minutes=5))
    policy = attrs.evolve(policy, max_attempts=4)
    setup = Setup(dispatch_after_commit=False)
    setup.qd.outbox_retry = policy
    item = setup.qd.submit_new(MEMBER, DRAFT)
    setup.recorder.fail_next(100)
    waits = []
    for _ in range(3):
        assert setup.qd.dispatch() == DispatchReport(sent=0, failed=1)
        (message,) = setup.pending()
        waits.append(message.next_attempt_at - setup.clock.now())
        setup.clock.advance(seconds=int(waits[-1].total_seconds()) - 1)
        assert setup.qd.dispatch() == DispatchReport(sent=0, failed=0)  # waits its turn
        setup.clock.advance(seconds=1)
    assert waits == [timedelta(minutes=1), timedelta(minutes=3), timedelta(minutes=5)]
    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=1, dead=1)
    assert setup.pending() == []
    with setup.store.unit_of_work() as uow:
        (dead,) = uow.outbox.list_failed(10)
    assert (dead.state, dead.attempts) == (OutboxState.DEAD, 4)
    setup.clock.advance(days=1)
    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=0)  # dead: never again
    setup.recorder.fail_next(0)
    with setup.store.unit_of_work() as uow:
        assert uow.outbox.retry(dead.notice.id, setup.clock.now())
        uow.commit()
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)
    assert setup.recorder.ids == setup.event_ids(item.id, EventKind.SUBMITTED)


def test_a_failing_notice_is_not_retried_by_every_command() -> None:
    calls: list[str] = []

    class Down:
        def send(self, notice: Notice) -> None:
            calls.append(notice.id)
            raise ConnectionError("网关不可用")

    setup = Setup(notifier=Down())
    first = setup.qd.submit_new(MEMBER, DRAFT)
    for _ in range(3):  # more commands within the backoff: the failed notice waits
        setup.qd.submit_new(MEMBER, DRAFT)
    submitted = setup.event_ids(first.id, EventKind.SUBMITTED)
    assert calls.count(submitted[0]) == 1
    assert len(calls) == 4


def test_commands_do_not_dispatch_by_default() -> None:
    setup = Setup()
    qd = Qiandao(setup.store, clock=setup.clock, notifier=setup.recorder, hasher=None)
    qd.submit_new(MEMBER, DRAFT)
    assert setup.recorder.notices == []
    assert len(setup.pending()) == 1
    assert qd.dispatch() == DispatchReport(sent=1, failed=0)


@pytest.mark.parametrize(
    "changes",
    [
        {"base": timedelta(0)},
        {"factor": 0.5},
        {"cap": timedelta(seconds=-1)},
        {"max_attempts": 0},
        {"max_attempts": 2.5},
        {"factor": True},
    ],
)
def test_a_retry_policy_refuses_nonsense(changes: dict[str, object]) -> None:
    with pytest.raises(QiandaoError) as refused:
        RetryPolicy(**changes)  # type: ignore[arg-type]
    assert refused.value.code == "input.invalid"


@given(
    attempts=st.integers(min_value=1, max_value=200),
    base=st.integers(min_value=1, max_value=3600),
    factor=st.floats(min_value=1, max_value=10),
    cap=st.integers(min_value=1, max_value=86_400),
)
def test_backoff_grows_never_shrinks_and_stays_under_the_cap(
    attempts: int, base: int, factor: float, cap: int
) -> None:
    policy = RetryPolicy(timedelta(seconds=base), factor, timedelta(seconds=cap), 1000)
    delay, following = policy.delay(attempts), policy.delay(attempts + 1)
    assert timedelta(0) < delay <= following <= timedelta(seconds=cap)
    assert delay == min(timedelta(seconds=cap), timedelta(seconds=base)) or attempts > 1
    assert policy.next_attempt(attempts, START) == START + delay
    assert RetryPolicy(max_attempts=attempts).next_attempt(attempts, START) is None


# --- refused commands record nothing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "code"),
    [
        (
            lambda qd, i: qd.pass_preliminary(MEMBER, i, destinations=FORWARD),
            "permission.denied",
        ),
        (lambda qd, i: qd.reject(EDITOR, i, ""), "reason.required"),
        (
            lambda qd, i: qd.reject(OTHER_EDITOR, i, "不属于本级"),
            "permission.jurisdiction",
        ),
        (lambda qd, i: qd.approve(DEPUTY, i), "state.invalid_transition"),
        (lambda qd, i: qd.pass_preliminary(EDITOR, i, destinations=[]), "input.invalid"),
        (
            lambda qd, i: qd.pass_preliminary(EDITOR, "no-such-item", destinations=FORWARD),
            "not_found",
        ),
    ],
)
def test_a_refused_command_records_no_notice(
    attempt: Callable[[Qiandao, str], object], code: str
) -> None:
    setup = Setup(dispatch_after_commit=False)
    item = setup.qd.submit_new(MEMBER, DRAFT)
    before = setup.pending()
    setup.clock.advance(hours=1)

    with pytest.raises(QiandaoError) as refused:
        attempt(setup.qd, item.id)

    assert refused.value.code == code
    assert setup.pending() == before
    with setup.store.unit_of_work() as uow:
        assert uow.items.get(item.id) == item
        assert len(uow.events.for_item(item.id)) == item.version
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)
    assert setup.recorder.ids == [m.notice.id for m in before]


# --- the system clock -------------------------------------------------------------------------


def test_the_service_runs_on_the_system_clock() -> None:
    clock = SystemClock()
    recorder = RecordingNotifier()
    before = datetime.now(SHANGHAI)
    store = MemoryStore()
    enrol(store, MEMBER)
    qd = Qiandao(store, clock=clock, notifier=recorder, hasher=None)
    item = qd.submit_new(MEMBER, DRAFT)
    after = datetime.now(SHANGHAI)
    assert qd.dispatch() == DispatchReport(sent=1, failed=0)
    now = clock.now()
    assert now.tzinfo is SHANGHAI
    assert before <= item.created_at <= after <= now
    (notice,) = recorder.notices
    assert notice.at == item.submitted_at
    assert notice.at.utcoffset() is not None
