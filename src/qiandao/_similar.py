"""Similar items at 初审 (第七、九条): what the editor sees beside a submitted item."""

from __future__ import annotations

from datetime import timedelta

import attrs

from qiandao._core import Actor, check_ids
from qiandao._inbox import ItemView, QueryCommands
from qiandao.errors import AnalysisUnavailable, InvalidInput, PermissionDenied
from qiandao.model import Item
from qiandao.paging import check_limit
from qiandao.rules.publication import Access, access
from qiandao.rules.roles import OFFICE_ROLES
from qiandao.similarity import CANDIDATES, DEFAULT_MONTHS, band_keys, ranked

__all__ = ["MAX_MONTHS", "SimilarCommands", "SimilarItem"]

MAX_MONTHS = 120
"""The furthest back ``similar_items`` may look (ten years)."""
_DAYS_A_MONTH = 365.25 / 12


@attrs.frozen
class SimilarItem:
    """One item found like another: its id, the estimated similarity of the two texts (0 to 1,
    the share of equal MinHash values) and the item as the caller may see it."""

    item_id: str
    score: float
    view: ItemView


def _months(months: object) -> int:
    """``months`` if it is an ``int`` from 1 to :data:`MAX_MONTHS`, else ``input.invalid``."""
    if type(months) is not int or not 0 < months <= MAX_MONTHS:
        raise InvalidInput(f"时间范围须为1至{MAX_MONTHS}个月", field="months")
    return months


class SimilarCommands(QueryCommands):
    """The similar-items query, on the index the command runner keeps (``Tx.index``)."""

    def similar_items(
        self, actor: Actor, item_id: str, *, limit: int = 5, months: int = DEFAULT_MONTHS
    ) -> tuple[SimilarItem, ...]:
        """The items most like ``item_id`` (open or closed) submitted in the actor's
        jurisdiction in the last ``months`` months, most similar first, at most ``limit``.

        Office staff only (``permission.denied``); the item must be one the actor may see
        (``not_found`` otherwise). Candidates share LSH bands of the item's signature (the
        :data:`~qiandao.similarity.CANDIDATES` sharing the most), are re-ranked by estimated
        Jaccard similarity and score at least :data:`~qiandao.similarity.THRESHOLD`; 涉密
        items are never indexed, so they never appear, and a 涉密 item gets no results (its
        text is not compared).
        Without an analyzer the service keeps no index: ``analysis.unavailable``. Audited like
        other reads of non-public items.
        """
        check_ids(item_id=item_id)
        check_limit(limit)
        now = self.now()
        since = now - timedelta(days=round(_months(months) * _DAYS_A_MONTH))
        if actor.role not in OFFICE_ROLES:
            raise PermissionDenied("只有办公室工作人员可以查看相似信息")
        analyzer = self.analyzer
        with self._reading(actor) as uow:  # the actor is verified first, then the service
            if analyzer is None:
                raise AnalysisUnavailable()
            target = uow.items.get(item_id)
            self._seen(actor, target)  # an item the actor may not see is "not found"
            ranking: list[tuple[float, str]] = []
            if not target.secret:
                entry = uow.similarity.get(item_id)
                signature = (
                    entry.signature
                    if entry is not None
                    else analyzer.signature(target.title, target.body)
                )
                bands = band_keys(signature)
                found = uow.similarity.candidates(bands, actor.jurisdiction, since, CANDIDATES)
                ranking = ranked(signature, found, exclude=item_id)
            shown: list[tuple[float, Item]] = []
            for score, other in ranking:
                item = uow.items.get(other)
                if not item.secret and access(actor.viewer(), item.access_facts()) is not (
                    Access.NONE
                ):
                    shown.append((score, item))
                if len(shown) == limit:
                    break
            views = self._views_in(uow, actor, [item for _, item in shown], now)
        hidden = [item.id for _, item in shown if not item.published]
        if hidden or not target.published:
            self._audit_read(secret=target.secret, items=hidden)
        return tuple(
            SimilarItem(item.id, score, view)
            for (score, item), view in zip(shown, views, strict=True)
        )
