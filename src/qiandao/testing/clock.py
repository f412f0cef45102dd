"""A clock a test (or a demo) moves by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from qiandao.errors import InvalidInput

__all__ = ["ManualClock"]


class ManualClock:
    """Returns a fixed aware instant until told to move."""

    def __init__(self, start: datetime) -> None:
        if start.utcoffset() is None:
            raise InvalidInput("时钟起点须带时区", field="start")
        self._now = start

    def now(self) -> datetime:
        """The current (fixed) instant."""
        return self._now

    def set(self, instant: datetime) -> None:
        """Jump to ``instant``."""
        self._now = instant

    def advance(self, **delta: float) -> datetime:
        """Move forward by a ``timedelta(**delta)``; returns the new instant."""
        self._now += timedelta(**delta)
        return self._now
