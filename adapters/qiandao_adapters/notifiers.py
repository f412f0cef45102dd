"""Notifiers for tests, demos and development: record notices in memory, or log them.

A production host plugs in its own notifier (SMS gateway, 浙政钉 work notice, e-mail, a queue);
these two show the contract (:class:`qiandao.testing.contract.NotifierContract`) and help tests.
"""

from __future__ import annotations

import logging
import threading

from qiandao.events import EventKind
from qiandao.ports.notify import Notice

__all__ = ["LoggingNotifier", "RecordingNotifier", "kind_label"]


class RecordingNotifier:
    """Keeps every delivered notice in memory, once per notice id (the outbox is at-least-once).

    ``fail_next(n)`` makes the next ``n`` sends raise ``ConnectionError`` (nothing recorded), so a
    test can watch a notice stay pending and go out on a later dispatch. Thread-safe.

    >>> from qiandao.testing.builders import sample_notice
    >>> recorder = RecordingNotifier()
    >>> recorder.send(sample_notice("evt-1")); recorder.send(sample_notice("evt-1"))
    >>> recorder.ids, recorder.calls, recorder.dropped
    (['evt-1'], 2, 1)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notices: list[Notice] = []
        self._seen: set[str] = set()
        self._failures_left = 0
        self._error: Exception | None = None
        self.calls = 0
        """Every call of :meth:`send`, failed and repeated ones included."""
        self.failures = 0
        """Sends that raised because of :meth:`fail_next`."""
        self.dropped = 0
        """Repeats of an already delivered notice id, dropped."""

    def send(self, notice: Notice) -> None:
        """Record ``notice`` unless its id was delivered already; or fail, if told to."""
        with self._lock:
            self.calls += 1
            if self._failures_left > 0:
                self._failures_left -= 1
                self.failures += 1
                raise self._error or ConnectionError(f"模拟通知发送失败：{notice.id}")
            if notice.id in self._seen:
                self.dropped += 1
                return
            self._seen.add(notice.id)
            self._notices.append(notice)

    def fail_next(self, times: int = 1, *, error: Exception | None = None) -> None:
        """Make the next ``times`` sends raise ``error`` (default: a ``ConnectionError``)."""
        if times < 0:
            raise ValueError("times must not be negative")
        with self._lock:
            self._failures_left = times
            self._error = error

    @property
    def notices(self) -> list[Notice]:
        """Delivered notices, in delivery order, each id once."""
        with self._lock:
            return list(self._notices)

    @property
    def ids(self) -> list[str]:
        """Ids of the delivered notices, in delivery order."""
        return [n.id for n in self.notices]

    def to(self, recipient: str) -> list[Notice]:
        """Delivered notices addressed to ``recipient`` (an account id or a group name)."""
        return [n for n in self.notices if recipient in n.recipients]

    def clear(self) -> None:
        """Forget everything recorded (and any pending failures)."""
        with self._lock:
            self._notices.clear()
            self._seen.clear()
            self._failures_left = 0
            self._error = None
            self.calls = self.failures = self.dropped = 0


def kind_label(kind: str) -> str:
    """The Chinese label of an event kind (a host's own kind as it is)."""
    member = EventKind._value2member_map_.get(kind)
    return member.label if isinstance(member, EventKind) else kind


class LoggingNotifier:
    """Writes each notice to a :mod:`logging` logger (default ``qiandao.notices``), in Chinese.

    Each record carries the notice as ``record.notice`` for handlers that forward it. Nothing is
    deduplicated: the log shows every delivery attempt the outbox made.
    """

    def __init__(self, logger: logging.Logger | None = None, *, level: int = logging.INFO) -> None:
        self.logger = logger or logging.getLogger("qiandao.notices")
        self.level = level

    def send(self, notice: Notice) -> None:
        """Log ``notice``."""
        self.logger.log(
            self.level,
            "通知 %s【%s】发送给 %s：%s（信息：%s，时间：%s）",
            notice.id,
            kind_label(notice.kind),
            "、".join(notice.recipients) or "（无收件人）",
            notice.text,
            notice.item_id or "无",
            notice.at.isoformat(),
            extra={"notice": notice},
        )
