"""The outbox under injected crashes, on every store (memory, SQLite, PostgreSQL, MariaDB).

Crashes before commit, after commit but before dispatch, and during dispatch (after a send,
before it is marked): every committed event's notice is delivered at least once, and no notice
of a rolled-back command is ever delivered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from qiandao import (
    DISPATCH_LEASE,
    SHANGHAI,
    Actor,
    DispatchReport,
    Qiandao,
    QiandaoError,
    Role,
    Unit,
)
from qiandao.ports.store import ItemQuery, Store, UnitOfWork
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.notifiers import RecordingNotifier
from tests.wrappers import DelegatingUnitOfWork

J = "zhoushan"
MEMBER = Actor("m1", Role.MEMBER, J)
EDITOR = Actor("e1", Role.EDITOR, J)
PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文", "category": "hot_issue"}


class Crash(Exception):
    """A simulated process death at a chosen point."""


class _CrashingUnitOfWork(DelegatingUnitOfWork):
    def __init__(self, inner: UnitOfWork, store: CrashingStore) -> None:
        super().__init__(inner)
        self._store = store

    def commit(self) -> None:
        if self._store.crash_commits > 0:
            self._store.crash_commits -= 1
            raise Crash("crashed before commit")
        self._inner.commit()


class CrashingStore:
    """Wraps a store; the next ``crash_commits`` commits die before reaching the database."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.crash_commits = 0

    def unit_of_work(self) -> UnitOfWork:
        return _CrashingUnitOfWork(self.inner.unit_of_work(), self)


@pytest.fixture
def raw_store(any_store: Store) -> Store:
    return any_store


def _service(store: Store, notifier: RecordingNotifier, *, dispatch: bool = True) -> Qiandao:
    clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI))
    enrol(store, MEMBER, EDITOR)
    return Qiandao(
        store, clock=clock, notifier=notifier, dispatch_after_commit=dispatch, hasher=None
    )


def _pending(store: Store) -> int:
    with store.unit_of_work() as uow:
        return len(uow.outbox.pending(1000))


def test_crash_before_commit_delivers_nothing(raw_store: Store) -> None:
    store = CrashingStore(raw_store)
    notifier = RecordingNotifier()
    qd = _service(store, notifier)
    store.crash_commits = 1
    with pytest.raises(Crash):
        qd.submit_new(MEMBER, PAYLOAD)
    assert notifier.notices == []
    assert _pending(raw_store) == 0
    with raw_store.unit_of_work() as uow:
        assert uow.items.count(ItemQuery()) == 0
    qd.dispatch()
    assert notifier.notices == []


def test_crash_after_commit_before_dispatch_is_delivered_later(raw_store: Store) -> None:
    notifier = RecordingNotifier()
    qd = _service(raw_store, notifier, dispatch=False)  # the process dies after commit
    item = qd.submit_new(MEMBER, PAYLOAD)
    item = qd.return_for_revision(EDITOR, item.id, "请补充数据")
    assert notifier.notices == []
    assert _pending(raw_store) == 2
    restarted = _service(raw_store, notifier)  # a new process runs the dispatcher
    report = restarted.dispatch()
    assert (report.sent, report.failed) == (2, 0)
    assert {n.kind for n in notifier.notices} == {"submitted", "returned"}
    assert _pending(raw_store) == 0


def test_crash_during_dispatch_loses_nothing(raw_store: Store) -> None:
    notifier = RecordingNotifier()
    qd = _service(raw_store, notifier, dispatch=False)
    first = qd.submit_new(MEMBER, PAYLOAD)
    qd.submit_new(MEMBER, {**PAYLOAD, "title": "第二条"})
    qd.return_for_revision(EDITOR, first.id, "请补充数据")
    notifier.fail_next(2)  # the gateway fails mid-run
    report = qd.dispatch()
    assert report.failed == 2
    assert report.sent == 1
    assert _pending(raw_store) == 2
    assert qd.dispatch() == DispatchReport(0, 0)  # the failed ones wait (backoff)
    qd.clock.advance(minutes=1)  # type: ignore[attr-defined]
    report = qd.dispatch()
    assert (report.sent, report.failed) == (2, 0)
    assert len(notifier.notices) == 3
    assert _pending(raw_store) == 0


def test_crash_after_send_before_mark_resends_and_dedupes(raw_store: Store) -> None:
    store = CrashingStore(raw_store)
    notifier = _CrashAfterSending(store)
    qd = _service(store, notifier, dispatch=False)
    qd.submit_new(MEMBER, PAYLOAD)
    qd.submit_new(MEMBER, {**PAYLOAD, "title": "第二条"})
    notifier.armed = True  # sends succeed, then the process dies before marking them
    with pytest.raises(Crash):
        qd.dispatch()
    assert len(notifier.notices) == 2
    assert _pending(raw_store) == 2
    restarted = _service(store, notifier, dispatch=False)
    assert restarted.dispatch() == DispatchReport(0, 0)  # the dead process's lease still runs
    restarted.clock.advance(seconds=DISPATCH_LEASE.total_seconds())  # type: ignore[attr-defined]
    report = restarted.dispatch()  # at least once: sent again, dropped by id at the receiver
    assert report.sent == 2
    assert len(notifier.notices) == 2
    assert notifier.dropped == 2
    assert _pending(raw_store) == 0


class _CrashAfterSending(RecordingNotifier):
    """Delivers; once ``armed``, the next commit (the marking of the batch) dies."""

    def __init__(self, store: CrashingStore) -> None:
        super().__init__()
        self.store = store
        self.armed = False

    def send(self, notice: Any) -> None:
        super().send(notice)
        if self.armed:
            self.armed = False
            self.store.crash_commits = 1


def test_refused_command_records_no_notice(raw_store: Store) -> None:
    notifier = RecordingNotifier()
    qd = _service(raw_store, notifier)
    item = qd.submit_new(MEMBER, PAYLOAD)
    sent = len(notifier.notices)
    with pytest.raises(QiandaoError) as err:
        qd.return_for_revision(MEMBER, item.id, "x")
    assert err.value.code == "permission.denied"
    assert len(notifier.notices) == sent
    assert _pending(raw_store) == 0


class _WritingNotifier(RecordingNotifier):
    """A gateway whose send needs the database too (e.g. it logs delivery in a table)."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def send(self, notice: Any) -> None:
        with self.store.unit_of_work() as uow:
            uow.units.add(Unit(f"log-{notice.id}", "投递日志", J))
            uow.commit()
        super().send(notice)


def test_no_transaction_is_open_while_sending(any_store: Store) -> None:
    notifier = _WritingNotifier(any_store)
    qd = _service(any_store, notifier, dispatch=False)
    qd.submit_new(MEMBER, PAYLOAD)
    qd.submit_new(MEMBER, {**PAYLOAD, "title": "第二条"})
    report = qd.dispatch()  # each send writes: a lock held by dispatch would block it
    assert (report.sent, report.failed) == (2, 0)


def test_a_dispatch_failure_after_commit_does_not_fail_the_command(raw_store: Store) -> None:
    store = CrashingStore(raw_store)
    notifier = RecordingNotifier()
    qd = _service(store, notifier)
    original = qd.dispatch

    def failing_dispatch(limit: int = 100) -> Any:
        store.crash_commits = 1  # the claim dies
        return original(limit)

    qd.dispatch = failing_dispatch  # type: ignore[method-assign,assignment]
    item = qd.submit_new(MEMBER, PAYLOAD)  # committed, then dispatch crashes: no exception
    with raw_store.unit_of_work() as uow:
        assert uow.items.get(item.id) == item
    assert _pending(raw_store) == 1  # not claimed, not sent: the next dispatch sends it
