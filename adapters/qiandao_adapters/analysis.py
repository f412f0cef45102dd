"""The text analyzer: MinHash signatures over character shingles, with ``datasketch``.

Install the ``analysis`` extra (``pip install 'qiandao[analysis]'``). The text is normalised
first (NFKC, lower case, every run of digits one ``#`` so that different figures still match,
punctuation, symbols and spaces dropped), then cut into overlapping character n-grams.

Give a ``key`` (bytes, kept like the other keys of the deployment): shingles are then hashed
with keyed BLAKE2b, so a stored signature cannot be tested against guessed phrases by someone
who reads the database without the key. Without a key the hash is public and a signature's
values can be matched against a dictionary of n-grams (see docs/security.md).

Hot-topic terms (:meth:`MinHashAnalyzer.terms`) are words cut with ``jieba`` (its dictionary is
loaded once per process, at the first text, about a second), without the stop words of
社情民意 writing shipped in ``data/stopwords_zh.txt``, single characters, numbers and
punctuation.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

__all__ = ["MAX_TERM_LENGTH", "MinHashAnalyzer", "normalise", "shingles", "stop_words", "terms"]

MAX_TERM_LENGTH = 16
"""The longest term kept (in characters): longer runs are not words a topic is named by."""

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


@functools.cache
def stop_words() -> frozenset[str]:
    """The shipped stop words (``data/stopwords_zh.txt``): what every 社情民意 item says."""
    text = resources.files("qiandao_adapters").joinpath("data/stopwords_zh.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


_JIEBA_LOCK = threading.Lock()
_jieba: list[Any] = []  # the one initialised jieba tokenizer of the process, once loaded


def _tokenizer() -> Any:
    """jieba's default tokenizer with its dictionary loaded: once per process (thread-safe)."""
    if not _jieba:
        with _JIEBA_LOCK:
            if not _jieba:
                import jieba  # the analysis extra, imported only when used

                jieba.setLogLevel(logging.WARNING)
                jieba.dt.initialize()
                _jieba.append(jieba.dt)
    return _jieba[0]


def _is_term(word: str, stop: frozenset[str]) -> bool:
    """A word worth counting: 2 to :data:`MAX_TERM_LENGTH` letters or digits, at least one a
    letter (not a number), and not a stop word."""
    if not 2 <= len(word) <= MAX_TERM_LENGTH or word in stop:
        return False
    kinds = [unicodedata.category(c)[0] for c in word]
    return "L" in kinds and all(k in "LN" for k in kinds)


def terms(texts: Iterable[str]) -> dict[str, int]:
    """Each term of ``texts`` (NFKC, lower case, cut by jieba) with how often it occurs."""
    cut = _tokenizer().lcut
    stop = stop_words()
    found: Counter[str] = Counter()
    for text in texts:
        words = cut(unicodedata.normalize("NFKC", text).lower())
        found.update(w for w in words if _is_term(w, stop))
    return dict(found)


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

    def terms(self, title: str, body: str) -> dict[str, int]:
        """The hot-topic terms of the title and body (see :func:`terms`), with their counts."""
        return terms((title, body))
