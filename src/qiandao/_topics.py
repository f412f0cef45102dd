"""Hot topics and trends (第一、八条): what stands out in a period, and counts for charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from qiandao._core import Actor
from qiandao._inbox import QueryCommands
from qiandao.errors import AnalysisUnavailable, InvalidInput, PermissionDenied
from qiandao.model import FocusCategory
from qiandao.paging import check_limit
from qiandao.ports.store import UnitOfWork
from qiandao.rules.deadlines import local_day
from qiandao.rules.points import Period
from qiandao.rules.publication import Access, access
from qiandao.rules.roles import OFFICE_ROLES
from qiandao.statistics import GroupCounts, StatisticsQuery
from qiandao.topics import MIN_ITEMS, TermCounts, TopicScope, background_of, weight

__all__ = [
    "MAX_TREND_PERIODS",
    "REPRESENTATIVES",
    "TREND_GROUPS",
    "HotTopic",
    "HotTopics",
    "TopicCommands",
    "TopicItem",
    "Trend",
]

REPRESENTATIVES = 5
"""The most representative items a topic shows."""
MAX_TREND_PERIODS = 60
"""The most periods one ``trends`` call counts (five years of months)."""
TREND_GROUPS = ("category", "sector", "jurisdiction", "channel")
"""What ``trends`` may group by."""
_CANDIDATES = 50  # items with a topic's term read to find the representatives the caller sees


@attrs.frozen
class TopicItem:
    """An item shown under a topic: its id and title (an item the caller may see)."""

    item_id: str
    """The item's id."""
    title: str
    """Its title as the caller may see it."""


@attrs.frozen
class HotTopic:
    """One hot topic of a period: the word, how much it stands out (:func:`~qiandao.topics.
    weight`), in how many of the period's items it is found, in how many of the previous
    period's, the change (``items - previous_items``) and up to five representative items."""

    word: str
    weight: float
    items: int
    previous_items: int
    change: int
    representatives: tuple[TopicItem, ...] = ()


@attrs.frozen
class HotTopics:
    """A period's hot topics, heaviest first, with what they were weighed on: the items of the
    period and of the background (the previous four periods of the same length)."""

    jurisdiction: str
    period: Period
    category: FocusCategory | None
    items: int
    background_items: int
    topics: tuple[HotTopic, ...] = ()


@attrs.frozen
class Trend:
    """One period of a trend: per group (category, sector, jurisdiction or channel) the items
    submitted in the period and how many of them are adopted."""

    period: Period
    """The period counted."""
    groups: tuple[GroupCounts, ...] = ()
    """Per group: items submitted in the period and how many of them are adopted."""


def _ranked(
    current: TermCounts, previous: TermCounts, earlier: TermCounts
) -> list[tuple[float, str]]:
    """``(weight, term key)`` of the period's topics (in :data:`MIN_ITEMS` items or more, a
    positive weight), heaviest first, then by key."""
    background = previous.items + earlier.items
    ranking = []
    for key, count in current.terms.items():
        if count < MIN_ITEMS:
            continue
        seen = previous.terms.get(key, 0) + earlier.terms.get(key, 0)
        w = weight(count, current.items, seen, background)
        if w > 0:
            ranking.append((-w, key))
    ranking.sort()
    return [(-w, key) for w, key in ranking]


class TopicCommands(QueryCommands):
    """Hot topics (on the term index the command runner keeps, ``Tx.index_topics``) and trends
    (on the store's statistics)."""

    def hot_topics(
        self,
        actor: Actor,
        period: Period,
        jurisdiction: str | None = None,
        category: FocusCategory | None = None,
        limit: int = 20,
    ) -> HotTopics:
        """The ``limit`` terms that stand out most in the items submitted in ``period`` in the
        actor's jurisdiction (optionally one ``category``), heaviest first.

        A term found in ``c`` of the period's ``n`` items and in ``b`` of the ``m`` items of
        the four previous periods of the same length weighs
        ``c * ln((c / n) / ((b + MU * prior) / (m + MU)))`` with ``prior = 1 / (n + m + 1)``
        (:func:`~qiandao.topics.weight`): what is always said weighs about nothing, what
        bursts weighs most. Each topic has its item count, the previous period's and the
        change, and up to five items the caller may see (those saying the word most often).

        Office staff of the jurisdiction only (``permission.denied``); 涉密 items are never
        indexed. Without an analyzer: ``analysis.unavailable``. Audited like other reads of
        non-public items.
        """
        if not isinstance(period, Period):
            raise InvalidInput("统计期间须为 Period", field="period")
        if category is not None and not isinstance(category, FocusCategory):
            raise InvalidInput("关注类别无效", field="category")
        check_limit(limit)
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有办公室工作人员可以查看热点分析")
        place = actor.jurisdiction if jurisdiction is None else jurisdiction
        if place != actor.jurisdiction:
            raise PermissionDenied("只能查看本级的热点分析")
        previous, earlier = background_of(period)
        with self._reading(actor) as uow:  # the actor is verified first, then the service
            if self.analyzer is None:
                raise AnalysisUnavailable(
                    "未配置文本分析器，没有热点词索引：构造 Qiandao 时传入 analyzer="
                    "MinHashAnalyzer()（from qiandao_adapters.analysis import MinHashAnalyzer）"
                )
            topics = uow.topics
            current = topics.counts(TopicScope(place, period, category))
            before = topics.counts(TopicScope(place, previous, category))
            rest = topics.counts(TopicScope(place, earlier, category))
            top = _ranked(current, before, rest)[:limit]
            keys = [key for _, key in top]
            words = topics.words(keys)
            having = topics.items_with(keys, TopicScope(place, period, category), _CANDIDATES)
            shown: list[HotTopic] = []
            hidden: set[str] = set()
            for w, key in top:
                items = self._representatives(uow, actor, having.get(key, []), hidden)
                count, was = current.terms[key], before.terms.get(key, 0)
                shown.append(HotTopic(words.get(key, ""), w, count, was, count - was, items))
        result = HotTopics(
            place,
            period,
            category,
            current.items,
            before.items + rest.items,
            tuple(shown),
        )
        self._audit_read(items=sorted(hidden))
        return result

    def _representatives(
        self, uow: UnitOfWork, actor: Actor, item_ids: Sequence[str], hidden: set[str]
    ) -> tuple[TopicItem, ...]:
        """The first :data:`REPRESENTATIVES` of ``item_ids`` the actor may see (never 涉密);
        the non-public ones are added to ``hidden`` for the audit record."""
        out: list[TopicItem] = []
        for item_id in item_ids:
            item = uow.items.get(item_id)
            level = access(actor.viewer(), item.access_facts())
            if item.secret or level is Access.NONE:
                continue
            out.append(TopicItem(item.id, item.as_seen(level, actor.unit_id).title))
            if not item.published:
                hidden.add(item.id)
            if len(out) == REPRESENTATIVES:
                break
        return tuple(out)

    def trends(
        self,
        actor: Actor,
        periods: Sequence[Period],
        by: Literal["category", "sector", "jurisdiction", "channel"] = "category",
    ) -> tuple[Trend, ...]:
        """Per period (in the order given), the items submitted in the actor's jurisdiction
        and how many are adopted, grouped ``by`` category, sector, jurisdiction or channel:
        the counts of the quarterly bulletin (one statistics call a period), for charts.

        Office staff only (``permission.denied``); at most :data:`MAX_TREND_PERIODS` periods.
        Audited like the bulletin.
        """
        if by not in TREND_GROUPS:
            raise InvalidInput("分组方式须为 category、sector、jurisdiction 或 channel", field="by")
        chosen = tuple(periods) if isinstance(periods, Sequence) else ()
        if not chosen or len(chosen) > MAX_TREND_PERIODS:
            raise InvalidInput(f"统计期间须为1至{MAX_TREND_PERIODS}个", field="periods")
        if not all(isinstance(p, Period) for p in chosen):
            raise InvalidInput("统计期间须为 Period", field="periods")
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有办公室工作人员可以查看趋势分析")
        today = local_day(self.now())
        out = []
        with self._reading(actor) as uow:
            for period in chosen:
                stats = uow.items.statistics(StatisticsQuery(actor.jurisdiction, period, today))
                out.append(Trend(period, getattr(stats, f"by_{by}")))
        self._audit_read()  # counts of non-public items, like the bulletin
        return tuple(out)
