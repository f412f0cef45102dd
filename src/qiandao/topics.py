"""Hot topics (第一、八条): the derived term index and the pure arithmetic of what is hot.

An item's title and body are cut into terms at write time (:meth:`~qiandao.ports.analysis.
TextAnalyzer.terms`); the store keeps, per submitted item that is not 涉密, its jurisdiction,
category, sector, channel, day of submission and terms (:class:`TopicEntry`). A SQL store under
encryption keeps each term as a keyed token and the words in a sealed dictionary.

A period's topics are weighed against a background: the same jurisdiction's previous four
periods of the same length (:func:`background_of`). For a term found in ``c`` of the period's
``n`` items and in ``b`` of the background's ``m`` items (:func:`weight`)::

    expected = (b + MU * prior) / (m + MU),   prior = 1 / (n + m + 1)
    weight   = c * ln((c / n) / expected)

The background rate is smoothed towards ``prior`` (a term seen once in the whole window) with
``MU`` pseudo-items (Dirichlet smoothing), so a term the background never saw is not infinitely
hot, and with no background at all the weight grows with ``c`` alone. A term as frequent as
usual weighs about nothing, whatever its count; one that bursts weighs its count times the log
of its lift. Only terms of at least :data:`MIN_ITEMS` items with a positive weight are topics.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from datetime import date, timedelta

import attrs

from qiandao.model import Channel, FocusCategory, Item
from qiandao.rules.deadlines import local_day
from qiandao.rules.points import Period

__all__ = [
    "BACKGROUND_PERIODS",
    "MIN_ITEMS",
    "MU",
    "TermCounts",
    "TopicEntry",
    "TopicScope",
    "background_of",
    "previous_period",
    "topic_entry",
    "topic_facts",
    "weight",
]

BACKGROUND_PERIODS = 4
"""How many earlier periods of the same length make a period's background."""
MU = 20.0
"""Pseudo-items smoothing the background rate towards the prior (see :func:`weight`)."""
MIN_ITEMS = 2
"""The fewest items a term must be found in to be a topic (one item is not a topic)."""


@attrs.frozen
class TopicEntry:
    """One item in the term index: where, what about, through which channel and on which day
    (Asia/Shanghai) it was submitted, and each term of its text with its count."""

    item_id: str
    """The indexed item."""
    jurisdiction: str
    """The item's jurisdiction code."""
    category: FocusCategory
    """The item's focus category (第四条)."""
    sector: str
    """The author's sector (界别); empty when none was given."""
    channel: Channel
    """How the item came in (委员报送, 信息员报送, 约稿 ...)."""
    day: date
    """The day it was submitted, in Asia/Shanghai."""
    terms: Mapping[str, int] = attrs.field(factory=dict)
    """Each term of its current title and body with its count (keyed tokens if encrypted)."""


@attrs.frozen
class TopicScope:
    """Which indexed items a count covers: one jurisdiction, the days of a period, optionally
    one category."""

    jurisdiction: str
    """The jurisdiction counted."""
    period: Period
    """The days counted (submission days)."""
    category: FocusCategory | None = None
    """Only this focus category; ``None`` for all."""

    def covers(self, entry: TopicEntry) -> bool:
        """Whether ``entry`` is in the scope."""
        return (
            entry.jurisdiction == self.jurisdiction
            and entry.day in self.period
            and (self.category is None or entry.category is self.category)
        )


@attrs.frozen
class TermCounts:
    """How many items a scope holds, and per term key in how many of them the term is found.

    A term key is the term itself in a store without encryption, else its keyed token: the
    store's ``words`` turns keys back into words."""

    items: int
    """How many indexed items the scope holds."""
    terms: Mapping[str, int] = attrs.field(factory=dict)
    """Per term key, in how many of those items the term is found."""


def topic_entry(item: Item, terms: Mapping[str, int]) -> TopicEntry:
    """The index entry of a submitted item with the terms of its current text."""
    assert item.submitted_at is not None
    return TopicEntry(
        item.id,
        item.jurisdiction,
        item.category,
        item.sector,
        item.channel,
        local_day(item.submitted_at),
        dict(terms),
    )


def topic_facts(item: Item) -> tuple[object, ...]:
    """What an entry holds besides the terms: when these and the text are unchanged, the entry
    need not be written again."""
    return (item.jurisdiction, item.category, item.sector, item.channel, item.submitted_at)


def _whole_months(period: Period) -> int | None:
    """How many calendar months ``period`` spans, if it is whole months (else ``None``)."""
    start, end = period.start, period.end
    last = calendar.monthrange(end.year, end.month)[1]
    if start.day != 1 or end.day != last:
        return None
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_period(period: Period, count: int = 1) -> Period:
    """The ``count`` periods before ``period``, each of the same length, as one period: whole
    months step by months (the quarters before a quarter), other periods by days."""
    months = _whole_months(period)
    if months is not None:
        start = _month_start(period.start, -months * count)
    else:
        start = period.start - timedelta(days=((period.end - period.start).days + 1) * count)
    return Period(start, period.start - timedelta(days=1))


def background_of(period: Period) -> tuple[Period, Period]:
    """The background of ``period``: the period just before it (the change is counted
    against it), and the :data:`BACKGROUND_PERIODS` - 1 periods before that, as one period."""
    previous = previous_period(period)
    return previous, previous_period(previous, BACKGROUND_PERIODS - 1)


def weight(count: int, items: int, background_count: int, background_items: int) -> float:
    """How much a term found in ``count`` of a period's ``items`` stands out against a
    background where it is found in ``background_count`` of ``background_items`` (the module's
    formula); 0.0 when the period has no item with it."""
    if count <= 0 or items <= 0:
        return 0.0
    prior = 1.0 / (items + background_items + 1)
    expected = (background_count + MU * prior) / (background_items + MU)
    return count * math.log((count / items) / expected)
