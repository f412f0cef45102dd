"""The periodic job: reminders once each per assignment, closing rating windows; safe to run twice."""

from __future__ import annotations

from qiandao._core import _Core

__all__ = ["JobCommands"]


class JobCommands(_Core):
    """The periodic job: reminders once each per assignment, closing rating windows; safe to run twice."""
