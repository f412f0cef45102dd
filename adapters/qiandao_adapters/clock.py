"""The wall clock, for production hosts (tests use :class:`qiandao.testing.ManualClock`)."""

from __future__ import annotations

from datetime import datetime

from qiandao.rules.deadlines import SHANGHAI

__all__ = ["SystemClock"]


class SystemClock:
    """Reads the system clock and returns an aware Asia/Shanghai datetime.

    >>> SystemClock().now().tzinfo is SHANGHAI
    True
    """

    def now(self) -> datetime:
        """The current instant in Asia/Shanghai."""
        return datetime.now(SHANGHAI)
