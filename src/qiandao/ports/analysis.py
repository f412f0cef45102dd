"""The text analysis port: what the service derives from an item's text when it is written.

Texts may be encrypted at rest, so whatever analysis needs (a similarity signature, the
terms of hot topics) is derived once, at write time, from the plain text the command
holds, and kept beside the item. The implementation (MinHash over character shingles with
``datasketch``) lives in ``qiandao_adapters.analysis``; the domain never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["TextAnalyzer"]


@runtime_checkable
class TextAnalyzer(Protocol):
    """Derives comparable fingerprints from an item's title and body."""

    @property
    def num_perm(self) -> int:
        """How many values every signature has (the same for all texts of one analyzer)."""
        ...

    def signature(self, title: str, body: str) -> tuple[int, ...]:
        """A MinHash signature of the text: ``num_perm`` integers from 0 to 2**32 - 1.

        Two texts' signatures agree at a share of positions that estimates the Jaccard
        similarity of their shingle sets; the same text always gives the same signature.
        """
        ...

    def terms(self, title: str, body: str) -> Mapping[str, int]:
        """The hot-topic terms of the text (words, without stop words, single characters,
        numbers and punctuation), each with how often it occurs."""
        ...
