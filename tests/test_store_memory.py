"""The store contract against the in-memory store, and the notifier contract against ours."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qiandao.audit import AuditChain, AuditEntry, AuditHead, AuditOutcome, AuditQuery, AuditRecord
from qiandao.errors import ConcurrencyConflict
from qiandao.events import Event
from qiandao.outbox import OutboxState
from qiandao.ports.notify import Notice
from qiandao.testing import (
    NotifierContract,
    StoreContract,
    sample_events,
    sample_item,
    sample_notice,
    sample_outbox_message,
)
from qiandao_adapters.memory import _EVENT_BLOCK, MemoryStore, _EventBlock, _outbox_state
from qiandao_adapters.notifiers import LoggingNotifier, RecordingNotifier


class TestMemoryStore(StoreContract):
    interleaved_writes = True

    def make_store(self) -> MemoryStore:
        return MemoryStore()


class TestRecordingNotifier(NotifierContract):
    deduplicates = True

    def make_notifier(self) -> RecordingNotifier:
        return RecordingNotifier()

    def delivered(self, notifier: RecordingNotifier) -> list[Notice]:
        return notifier.notices

    def test_fail_next_raises_and_records_nothing(self) -> None:
        recorder = RecordingNotifier()
        recorder.fail_next(2)
        for _ in range(2):
            with pytest.raises(ConnectionError):
                recorder.send(sample_notice("evt-1"))
        recorder.send(sample_notice("evt-1"))
        recorder.send(sample_notice("evt-1"))
        assert recorder.ids == ["evt-1"]
        assert (recorder.calls, recorder.failures, recorder.dropped) == (4, 2, 1)

    def test_fail_next_with_a_chosen_error(self) -> None:
        recorder = RecordingNotifier()
        recorder.fail_next(error=TimeoutError("网关超时"))
        with pytest.raises(TimeoutError):
            recorder.send(sample_notice("evt-1"))
        recorder.send(sample_notice("evt-2"))
        assert recorder.ids == ["evt-2"]
        with pytest.raises(ValueError):
            recorder.fail_next(-1)

    def test_to_and_clear(self) -> None:
        recorder = RecordingNotifier()
        recorder.send(sample_notice("evt-1", recipients=("m-1", "role:editor@zhoushan")))
        recorder.send(sample_notice("evt-2", recipients=("unit:u-1",)))
        assert [n.id for n in recorder.to("role:editor@zhoushan")] == ["evt-1"]
        assert recorder.to("nobody") == []
        recorder.fail_next(3)
        recorder.clear()
        recorder.send(sample_notice("evt-1"))
        assert recorder.ids == ["evt-1"]
        assert recorder.calls == 1


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class TestLoggingNotifier(NotifierContract):
    @pytest.fixture(autouse=True)
    def _handler(self, request: pytest.FixtureRequest) -> Iterator[None]:
        self.logger = logging.getLogger(f"qiandao.notices.test.{request.node.name}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.handler = _Collect()
        self.logger.addHandler(self.handler)
        yield
        self.logger.removeHandler(self.handler)

    def make_notifier(self) -> LoggingNotifier:
        return LoggingNotifier(self.logger)

    def delivered(self, notifier: LoggingNotifier) -> list[Notice]:
        return [record.__dict__["notice"] for record in self.handler.records]

    def test_logs_in_chinese_with_the_kind_label(self) -> None:
        LoggingNotifier(self.logger).send(sample_notice("evt-9", kind="signed"))
        (record,) = self.handler.records
        message = record.getMessage()
        assert record.levelno == logging.INFO
        assert "evt-9" in message
        assert "签发" in message
        assert "role:editor@zhoushan" in message

    def test_level_and_default_logger(self) -> None:
        notifier = LoggingNotifier(self.logger, level=logging.WARNING)
        notifier.send(sample_notice("evt-1", kind="host.custom", item_id=None))
        (record,) = self.handler.records
        assert record.levelno == logging.WARNING
        assert "host.custom" in record.getMessage()
        assert LoggingNotifier().logger.name == "qiandao.notices"


# --- the outbox's pending index -----------------------------------------------------------------

_T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["add", "sent", "failed", "dead", "claim", "release", "retry", "discard"]),
        st.integers(min_value=0, max_value=5),
        st.booleans(),  # commit, else roll back
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(ops=_OPS)
def test_the_pending_index_is_exactly_the_committed_pending_notices(
    ops: list[tuple[str, int, bool]],
) -> None:
    store = MemoryStore()
    for op, n, commit in ops:
        notice_id = f"evt-{n}"
        with store.unit_of_work() as uow:
            known = {m.notice.id for m in uow.outbox.pending(100)} | {
                m.notice.id for m in uow.outbox.list_failed(100)
            }
            if op == "add":
                uow.outbox.add([sample_outbox_message(notice_id)])
            elif op == "claim":
                uow.outbox.claim(n, _T0, timedelta(minutes=1), "d")
            elif op == "release":
                uow.outbox.release("d")
            elif op in ("sent", "failed", "dead") and notice_id in known:
                if op == "sent":
                    uow.outbox.mark_dispatched(notice_id, _T0)
                else:
                    retry_at = _T0 if op == "failed" else None
                    uow.outbox.mark_failed(notice_id, _T0, retry_at)
            elif op == "retry" and notice_id in known:
                uow.outbox.retry(notice_id, _T0)
            elif op == "discard" and notice_id in known:
                uow.outbox.discard(notice_id)
            if commit:
                uow.commit()
        data = store._data
        pending = {k for k, m in data.outbox.items() if _outbox_state(m) is OutboxState.PENDING}
        assert set(data.outbox_pending) == pending
        with store.unit_of_work() as uow:
            assert {m.notice.id for m in uow.outbox.pending(100)} == pending


def test_dispatching_does_not_walk_the_history() -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        uow.outbox.add([sample_outbox_message(f"old-{n}") for n in range(500)])
        uow.commit()
    with store.unit_of_work() as uow:
        for n in range(500):
            uow.outbox.mark_dispatched(f"old-{n}", _T0)
        uow.outbox.add([sample_outbox_message("new")])
        uow.commit()
    assert list(store._data.outbox_pending) == ["new"]
    with store.unit_of_work() as uow:
        uow.outbox._t.values = None  # type: ignore[assignment,method-assign]  # a scan would fail
        (claimed,) = uow.outbox.claim(10, _T0 + timedelta(days=1), timedelta(minutes=1), "d")
    assert claimed.notice.id == "new"


def test_packed_audit_records_read_as_they_were_sealed() -> None:
    shard, chain, start = "03", AuditChain(), datetime(2026, 1, 5, 9, tzinfo=UTC)
    entries = [
        AuditEntry(
            start + timedelta(seconds=n), "submit", AuditOutcome.SUCCEEDED, targets=(f"t{n}",)
        )
        for n in range(300)
    ]
    expected: list[AuditRecord] = []
    head = AuditHead(shard)
    for entry in entries:
        expected.append(chain.seal(head, entry))
        head = AuditHead(shard, expected[-1].sequence, expected[-1].hash)
    store = MemoryStore()
    for batch in (entries[:250], entries[250:]):
        with store.unit_of_work() as uow:
            for entry in batch:
                uow.audit.append(shard, entry, chain)
            uow.commit()
    assert len(store._data.audit_records[shard]) < 300  # most of them packed
    with store.unit_of_work() as uow:
        assert uow.audit.records(shard) == expected
        assert uow.audit.records(shard, after=100, limit=5) == expected[100:105]
        assert uow.audit.last_before(shard, start + timedelta(seconds=150.5)) == expected[150]
        assert uow.audit.last_before(shard, start) is None
        assert uow.audit.query(AuditQuery(target_id="t200")) == [expected[200]]
        assert uow.audit.count(AuditQuery(since=start + timedelta(seconds=290))) == 10
        assert uow.audit.heads()[shard] == head
        assert uow.audit.purge(shard, 130) == 130
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.audit.records(shard) == expected[130:]
        assert uow.audit.purge(shard, 10) == 0


def test_packed_events_read_back_as_they_were_appended() -> None:
    logs = {
        f"item-{n:03d}": sample_events(sample_item(f"item-{n:03d}"), prefix=f"e{n}")
        for n in range(40)
    }
    store = MemoryStore()
    expected: list[Event] = []
    for round_ in range(0, 6, 2):  # a few events of every item per unit of work, interleaved
        with store.unit_of_work() as uow:
            for log in logs.values():
                uow.events.append(log[round_ : round_ + 2])
                expected.extend(log[round_ : round_ + 2])
            uow.commit()
    assert len(expected) > 3 * _EVENT_BLOCK
    assert any(isinstance(row, _EventBlock) for row in store._data.feed)  # packed
    with store.unit_of_work() as uow:
        assert [logged.event for logged in uow.events.since(0, 10_000)] == expected
        page = uow.events.since(_EVENT_BLOCK - 3, 10)
        assert [p.position for p in page] == list(range(_EVENT_BLOCK - 2, _EVENT_BLOCK + 8))
        assert [p.event for p in page] == expected[_EVENT_BLOCK - 3 : _EVENT_BLOCK + 7]
        for item_id, log in logs.items():
            assert uow.events.for_item(item_id) == log[:6]
        more = sample_events(sample_item("item-000"), first=7, prefix="late")[:1]
        uow.events.append(more)  # staged beside the packed ones
        assert uow.events.for_item("item-000") == [*logs["item-000"][:6], *more]
        with pytest.raises(ConcurrencyConflict):
            uow.events.append(more)
