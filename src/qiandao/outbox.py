"""The outbox's states and retry policy: how long a failed notice waits, and when it gives up.

A notice is recorded in the same transaction as its change (``pending``); a dispatcher claims a
batch under a lease, sends it with no transaction open and marks each notice ``dispatched`` or
failed. A failed notice waits (exponential backoff, capped) and is tried again, up to
``max_attempts`` sends; then it is ``dead`` (a dead letter an operator retries or discards).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from qiandao._enum import LabelledEnum
from qiandao.errors import InvalidInput

__all__ = ["OutboxState", "RetryPolicy"]


class OutboxState(LabelledEnum):
    """Where a notice is in the outbox."""

    PENDING = "pending", "待投递"
    DISPATCHED = "dispatched", "已投递"
    DEAD = "dead", "投递失败（已停止重试）"
    DISCARDED = "discarded", "已放弃"


def _positive(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, timedelta):
        ok = value > timedelta(0)
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if not ok:
        raise InvalidInput("重试策略的参数须为正数", field=attribute.name)


@attrs.frozen
class RetryPolicy:
    """Exponential backoff of failed notices: wait ``base × factor^(n-1)`` after the n-th
    failed send, at most ``cap``; after ``max_attempts`` failed sends the notice is dead."""

    base: timedelta = attrs.field(default=timedelta(seconds=30), validator=_positive)
    """Wait after the first failed send."""
    factor: float = attrs.field(default=2.0, validator=_positive)
    """How much each further wait grows (at least 1)."""
    cap: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    """Longest wait between two attempts."""
    max_attempts: int = attrs.field(default=10, validator=_positive)
    """Failed sends after which the notice is dead (kept for an operator)."""

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.factor < 1:
            raise InvalidInput("重试次数须为整数，倍数不小于1", field="max_attempts")

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed send (1 for the first), at most ``cap``."""
        seconds = self.base.total_seconds() * self.factor ** min(attempts - 1, 64)
        return min(self.cap, timedelta(seconds=min(seconds, self.cap.total_seconds())))

    def next_attempt(self, attempts: int, failed_at: datetime) -> datetime | None:
        """When a notice that has now failed ``attempts`` times is tried again; ``None``: never
        (it is dead)."""
        if attempts >= self.max_attempts:
            return None
        return failed_at + self.delay(attempts)
