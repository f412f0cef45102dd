"""Similar items at 初审 (第七、九条): the derived index and its pure arithmetic.

An item's text is reduced at write time to a MinHash signature (:class:`~qiandao.ports.analysis.
TextAnalyzer`); the signature is cut into LSH bands, and each band hashed to one 64-bit key, so
the store finds candidates by equal keys (an index lookup, never a scan of every item). The
candidates are re-ranked by the share of equal signature positions (the estimated Jaccard
similarity of the two texts' shingle sets). Only the signature and band keys are kept: no text.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from qiandao.model import Item
from qiandao.rules.lifecycle import AUTHOR_ONLY_STATES

__all__ = [
    "BANDS",
    "CANDIDATES",
    "DEFAULT_MONTHS",
    "ROWS",
    "THRESHOLD",
    "SimilarityCandidate",
    "SimilarityEntry",
    "band_keys",
    "estimated_jaccard",
    "indexed",
    "ranked",
]

BANDS = 64
"""LSH bands a signature is cut into (one indexed key each)."""
ROWS = 4
"""Signature values per band: ``BANDS * ROWS`` is the analyzer's ``num_perm`` (256, chosen on
the labelled set: 128 values gave recall@5 from 0.87 to 0.93 depending on the key, 256 from
0.94 to 0.96)."""
THRESHOLD = 0.2
"""The least estimated Jaccard similarity a result must have (chosen on the labelled set of
``tests/data/similar_pairs.jsonl``: see ``benchmarks/similar.py``)."""
CANDIDATES = 200
"""How many candidates (those sharing the most band keys) are re-ranked by their signatures."""
DEFAULT_MONTHS = 24
"""How far back ``similar_items`` looks by default (submission time, in months)."""


@attrs.frozen
class SimilarityEntry:
    """One item in the similarity index: where and when it was submitted, its signature and
    the keys of its LSH bands. Reveals that texts are alike, never what they say."""

    item_id: str
    """The indexed item."""
    jurisdiction: str
    """The item's jurisdiction: a lookup stays within one."""
    at: datetime
    """When the item was submitted: a lookup looks back from now."""
    signature: tuple[int, ...]
    """The MinHash signature of the item's current text."""
    bands: tuple[int, ...]
    """The LSH band keys of the signature (:func:`band_keys`), one per band."""


@attrs.frozen
class SimilarityCandidate:
    """An indexed item found by shared band keys: its id, its signature, and how many of the
    asked keys it shares (the more, the likelier it is alike)."""

    item_id: str
    """The candidate item."""
    signature: tuple[int, ...]
    """Its MinHash signature, for re-ranking."""
    shared: int
    """How many of the asked band keys it shares."""


def band_keys(signature: Sequence[int], rows: int = ROWS) -> tuple[int, ...]:
    """The LSH band keys of a signature: each run of ``rows`` values, with its band number,
    hashed to a signed 64-bit integer (a database ``BIGINT``). Equal keys: an equal band."""
    keys = []
    for band, start in enumerate(range(0, len(signature) - rows + 1, rows)):
        raw = ",".join(str(v) for v in (band, *signature[start : start + rows])).encode("ascii")
        digest = hashlib.blake2b(raw, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return tuple(keys)


def estimated_jaccard(left: Sequence[int], right: Sequence[int]) -> float:
    """The share of positions where two signatures agree (0.0 for signatures of different
    lengths): MinHash's estimate of the Jaccard similarity of the two shingle sets."""
    if not left or len(left) != len(right):
        return 0.0
    equal: int = sum(map(operator.eq, left, right))
    return equal / len(left)


def indexed(item: Item) -> bool:
    """Whether an item belongs in the similarity index: submitted to the office (not a draft
    or a withdrawn item, which are their authors' alone) and not 涉密, which is never indexed."""
    return (
        not item.secret and item.state not in AUTHOR_ONLY_STATES and item.submitted_at is not None
    )


def _best_first(pair: tuple[float, str]) -> tuple[float, str]:
    return -pair[0], pair[1]


def ranked(
    signature: Sequence[int],
    entries: Iterable[SimilarityCandidate | SimilarityEntry],
    *,
    exclude: str,
    threshold: float = THRESHOLD,
) -> list[tuple[float, str]]:
    """``(score, item id)`` of the entries scoring at least ``threshold`` against
    ``signature`` (``exclude``, the item asked about, left out), best first, then by id."""
    scored = ((estimated_jaccard(signature, e.signature), e.item_id) for e in entries)
    kept = [(score, item_id) for score, item_id in scored if item_id != exclude]
    return sorted((pair for pair in kept if pair[0] >= threshold), key=_best_first)
