"""The text analyzer: MinHash signatures over character shingles, with ``datasketch``.

Install the ``analysis`` extra (``pip install 'qiandao[analysis]'``). The text is normalised
first (NFKC, lower case, every run of digits one ``#`` so that different figures still match,
punctuation, symbols and spaces dropped), then cut into overlapping character n-grams.

Give a ``key`` (bytes, kept like the other keys of the deployment): shingles are then hashed
with keyed BLAKE2b, so a stored signature cannot be tested against guessed phrases by someone
who reads the database without the key. Without a key the hash is public and a signature's
values can be matched against a dictionary of n-grams (see docs/security.md).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

__all__ = ["MinHashAnalyzer", "normalise", "shingles"]

_DIGITS = re.compile(r"\d+")
_DROPPED = ("P", "S", "Z", "C")  # punctuation, symbols, separators, control characters


def normalise(text: str) -> str:
    """The text as shingles see it: NFKC, lower case, digit runs as ``#``, no punctuation,
    symbols or spaces."""
    folded = _DIGITS.sub("#", unicodedata.normalize("NFKC", text).lower())
    return "".join(c for c in folded if not unicodedata.category(c).startswith(_DROPPED))


def shingles(text: str, size: int) -> set[bytes]:
    """The set of ``size``-character n-grams of the normalised text (the whole text, if
    shorter), UTF-8 encoded."""
    plain = normalise(text)
    if len(plain) <= size:
        return {plain.encode("utf-8")} if plain else set()
    return {plain[i : i + size].encode("utf-8") for i in range(len(plain) - size + 1)}


def _hasher(key: bytes | None) -> Callable[[bytes], int]:
    """A 32-bit hash of a shingle: keyed BLAKE2b with ``key``, else plain BLAKE2b."""

    def hashed(data: bytes) -> int:
        digest = hashlib.blake2b(data, digest_size=4, key=key or b"").digest()
        return int.from_bytes(digest, "little")

    return hashed


class MinHashAnalyzer:
    """A :class:`~qiandao.ports.analysis.TextAnalyzer`: a ``datasketch`` MinHash of the title
    and body's character shingles (``shingle`` characters each), ``num_perm`` values."""

    def __init__(
        self, *, key: bytes | None = None, num_perm: int = 256, shingle: int = 2, seed: int = 1
    ) -> None:
        from datasketch import MinHash  # the analysis extra, imported only when used

        if key is not None and not (isinstance(key, bytes) and 16 <= len(key) <= 64):
            raise ValueError("the analyzer's key must be 16 to 64 bytes")
        self._minhash: Any = MinHash
        self._num_perm = num_perm
        self._shingle = shingle
        self._hash = _hasher(key)
        # the permutations are drawn once: every signature of this analyzer uses them
        self._template = MinHash(num_perm=num_perm, seed=seed, hashfunc=self._hash)

    @property
    def num_perm(self) -> int:
        """How many values each signature has."""
        return self._num_perm

    def signature(self, title: str, body: str) -> tuple[int, ...]:
        """The MinHash signature of the title and body's shingles (each value below 2**32)."""
        found = shingles(f"{title}\n{body}", self._shingle)
        sketch = self._template.copy()
        if found:
            sketch.update_batch(sorted(found))
        return tuple(int(v) for v in sketch.hashvalues)
