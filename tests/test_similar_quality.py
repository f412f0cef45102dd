"""The similar-items quality on the shipped labelled set (tests/data/similar_pairs.jsonl).

The items of the set are indexed as the service indexes them (a keyed MinHash analyzer, LSH
band keys, the memory store's index) and the duplicates of the first 100 pairs looked up as
``similar_items`` ranks them, by the benchmark's own measurement (``benchmarks/similar.py``,
which also mixes the set into a larger corpus and times the lookups).
"""

from __future__ import annotations

from tests.data.make_similar_pairs import load_pairs, make_pairs
from tests.test_benchmarks import _load


def test_the_labelled_set_is_what_the_generator_makes_and_large_enough() -> None:
    pairs = load_pairs()
    assert make_pairs() == pairs  # deterministic: the shipped file is the script's output
    labels = [p["label"] for p in pairs]
    assert labels.count("duplicate") >= 200 and labels.count("different") >= 200
    for pair in pairs:
        assert pair["a"] != pair["b"]
        if pair["label"] == "different":  # hard negatives: one topic, another issue
            assert pair["category"] and pair["topic"]


def test_recall_at_5_and_precision_at_the_threshold() -> None:
    found = _load("similar").quality(0, lambda _line: None, asked=100, peer=False)
    assert found.queries == 200
    assert found.recall_at_5 >= 0.9
    assert found.precision >= 0.95 and found.recall >= 0.95
