"""Kept for existing imports: the calendar now lives in :mod:`qiandao.calendar`.

``from qiandao.rules.workdays import ChinaWorkdays`` and the other public names still work.
"""

from qiandao import calendar as _calendar
from qiandao.calendar import *  # noqa: F403 - exactly the public names of qiandao.calendar

__all__ = list(_calendar.__all__)
