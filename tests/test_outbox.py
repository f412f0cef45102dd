"""The transactional outbox through the service: notices are recorded with their change, leave
after commit, survive a failing notifier, and reach the recorder exactly once (dedupe by id)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from qiandao._core import Actor, DispatchReport
from qiandao.errors import QiandaoError
from qiandao.events import EventKind
from qiandao.model import Item
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

    assert setup.qd.dispatch() == DispatchReport(sent=0, failed=1)
    assert [m.attempts for m in setup.pending()] == [2]

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
    assert [m.attempts for m in setup.pending()] == [1]
    assert setup.qd.dispatch() == DispatchReport(sent=1, failed=0)

    assert recorder.ids == setup.event_ids(item.id, EventKind.SUBMITTED)
    assert (recorder.calls, recorder.dropped) == (2, 1)
    assert setup.pending() == []


def test_two_dispatchers_at_once_deliver_once() -> None:
    # A second dispatcher runs while the first is sending: both see the notice pending and
    # both send it (at least once); the recorder keeps one.
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

    assert reports == [DispatchReport(sent=1, failed=0)]
    assert recorder.ids == setup.event_ids(item.id, EventKind.SUBMITTED)
    assert (recorder.calls, recorder.dropped) == (2, 1)
    assert setup.pending() == []


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
    item = Qiandao(store, clock=clock, notifier=recorder, hasher=None).submit_new(MEMBER, DRAFT)
    after = datetime.now(SHANGHAI)
    now = clock.now()
    assert now.tzinfo is SHANGHAI
    assert before <= item.created_at <= after <= now
    (notice,) = recorder.notices
    assert notice.at == item.submitted_at
    assert notice.at.utcoffset() is not None
