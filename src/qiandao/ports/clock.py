"""The clock port: the domain never reads the wall clock itself."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """Tells the current instant as an aware datetime."""

    def now(self) -> datetime:
        """The current instant, timezone-aware (never a naive datetime)."""
        ...
