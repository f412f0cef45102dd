"""The similar-items quality on the shipped labelled set (tests/data/similar_pairs.jsonl).

Every item of the set is indexed as the service indexes it (a keyed MinHash analyzer, LSH band
keys, the memory store's index); the duplicates of a sample are looked up as ``similar_items``
ranks them. ``benchmarks/similar.py`` measures the whole set mixed into a larger corpus.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from qiandao.similarity import (
    CANDIDATES,
    THRESHOLD,
    SimilarityEntry,
    band_keys,
    estimated_jaccard,
    ranked,
)
from qiandao_adapters.analysis import MinHashAnalyzer
from qiandao_adapters.memory import MemoryStore
from tests.data.make_similar_pairs import load_pairs, make_pairs

AT = datetime(2026, 3, 2, tzinfo=UTC)
PAIRS = load_pairs()


@pytest.fixture(scope="module")
def signatures() -> dict[str, tuple[int, ...]]:
    analyzer = MinHashAnalyzer(key=b"quality-test-key")
    found = {}
    for pair in PAIRS:
        for side in ("a", "b"):
            doc = pair[side]
            assert isinstance(doc, dict)
            found[doc["id"]] = analyzer.signature(doc["title"], doc["body"])
    return found


def _id(pair: dict[str, object], side: str) -> str:
    doc = pair[side]
    assert isinstance(doc, dict)
    return str(doc["id"])


def test_the_labelled_set_is_what_the_generator_makes_and_large_enough() -> None:
    assert make_pairs() == PAIRS  # deterministic: the shipped file is the script's output
    labels = [p["label"] for p in PAIRS]
    assert labels.count("duplicate") >= 200 and labels.count("different") >= 200
    for pair in PAIRS:
        if pair["label"] == "different":  # hard negatives: one topic and category
            assert pair["a"] != pair["b"]


def test_recall_at_5_on_a_sample_of_duplicates(signatures: dict[str, tuple[int, ...]]) -> None:
    store = MemoryStore()
    with store.unit_of_work() as uow:
        for item_id, signature in signatures.items():
            uow.similarity.put(
                SimilarityEntry(item_id, "zhoushan", AT, signature, band_keys(signature))
            )
        uow.commit()
    duplicates = [p for p in PAIRS if p["label"] == "duplicate"]
    sample = random.Random(5).sample(duplicates, 100)
    hits = 0
    with store.unit_of_work() as uow:
        for pair in sample:
            for asked, wanted in (("a", "b"), ("b", "a")):
                signature = signatures[_id(pair, asked)]
                found = uow.similarity.candidates(band_keys(signature), "zhoushan", AT, CANDIDATES)
                top = [i for _, i in ranked(signature, found, exclude=_id(pair, asked))[:5]]
                hits += _id(pair, wanted) in top
    assert hits / (2 * len(sample)) >= 0.9


def test_precision_at_the_threshold(signatures: dict[str, tuple[int, ...]]) -> None:
    def score(pair: dict[str, object]) -> float:
        return estimated_jaccard(signatures[_id(pair, "a")], signatures[_id(pair, "b")])

    kept = [p["label"] for p in PAIRS if score(p) >= THRESHOLD]
    assert kept.count("duplicate") / len(kept) >= 0.95
    duplicates = sum(p["label"] == "duplicate" for p in PAIRS)
    assert kept.count("duplicate") / duplicates >= 0.95
