"""The store contract against the in-memory store, and the notifier contract against ours."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from qiandao.ports.notify import Notice
from qiandao.testing import NotifierContract, StoreContract, sample_notice
from qiandao_adapters.memory import MemoryStore
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
