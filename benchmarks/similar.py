"""Benchmark: similar items at 初审 (issue 13): quality on the labelled set, latency at scale.

Quality: every item of ``tests/data/similar_pairs.jsonl`` (220 duplicate pairs, 220 hard
negatives of one topic) is indexed with ``--distractors`` more items of other matters, as the
service indexes them (a keyed MinHash analyzer, 64 LSH bands of 4 rows, the memory store).
For each item of a duplicate pair the other is looked up as ``similar_items`` ranks it:
recall@5 is the share found among the first five at or above the threshold. Precision and
recall at the threshold are over the labelled pairs (a pair scoring at or above it is called
similar). The peer is an exact full scan: the Jaccard similarity of the shingle sets of the
item and every other item, best five.

Latency: a memory store (or ``--sqlite``: an encrypted SQLite file) holds ``--items``
submitted items with realistic texts (from 30 issues of 10 topics, so each issue has thousands
of look-alikes: a worst case for the candidate sets), each indexed; ``Qiandao.similar_items``
is timed for ``--calls`` items, median and 95th percentile. The peer, measured in the same
run, is a full pairwise scan of the signatures with numpy (every stored signature compared
with the item's, best five), which is what the LSH index avoids.

Run ``python benchmarks/similar.py [--items 100000] [--calls 50] [--distractors 500]
[--sqlite]``. Figures of 2026-12-02 (2 cores shared with other work) are in docs/storage.md:
at 100,000 items, SQLite (encrypted) median 33.0 ms, p95 45.8 ms (numpy full scan 27.0 /
40.0 ms); memory 14.7 / 39.1 ms (full scan 31.0 / 55.4 ms); recall@5 0.941 / 0.916 / 0.898
with 0 / 500 / 1000 distractors (exact full scan 0.959 / 0.934 / 0.918).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.data: the labelled set and its generator

from tests.data.make_similar_pairs import Doc, corpus, distractors, load_pairs  # noqa: E402

from qiandao import SHANGHAI, Actor, Qiandao, Role  # noqa: E402
from qiandao.model import Item, TextVersion  # noqa: E402
from qiandao.ports.store import Store  # noqa: E402
from qiandao.rules.lifecycle import ItemState  # noqa: E402
from qiandao.similarity import (  # noqa: E402
    CANDIDATES,
    THRESHOLD,
    SimilarityEntry,
    band_keys,
    estimated_jaccard,
    ranked,
)
from qiandao.testing import ManualClock, enrol  # noqa: E402
from qiandao.testing.builders import sample_item  # noqa: E402
from qiandao_adapters.analysis import MinHashAnalyzer, shingles  # noqa: E402
from qiandao_adapters.memory import MemoryStore  # noqa: E402

J = "zhoushan"
EDITOR = Actor("e1", Role.EDITOR, J)
AUTHOR = Actor("m1", Role.MEMBER, J)
NOW = datetime(2026, 12, 1, 9, tzinfo=SHANGHAI)
KEY = b"benchmark-analyzer-key"


@attrs.frozen
class Quality:
    """The quality figures of one run."""

    recall_at_5: float
    precision: float
    recall: float
    peer_recall_at_5: float
    queries: int
    corpus: int


def quality(
    extra: int,
    report: Callable[[str], None] = print,
    *,
    asked: int | None = None,
    peer: bool = True,
) -> Quality:
    """Recall@5, precision and recall at the threshold over the labelled pairs mixed with
    ``extra`` distractors; the exact full scan's recall@5 beside it (``peer=False``: not
    measured, 0). ``asked``: look up only the first duplicate pairs."""
    pairs = load_pairs()
    docs: dict[str, Doc] = {}
    for pair in pairs:
        for side in ("a", "b"):
            doc = pair[side]
            assert isinstance(doc, dict)
            docs[doc["id"]] = doc
    for doc in distractors(pairs, extra):
        docs[doc["id"]] = doc
    analyzer = MinHashAnalyzer(key=KEY)
    signatures = {i: analyzer.signature(d["title"], d["body"]) for i, d in docs.items()}
    store = MemoryStore()
    at = NOW - timedelta(days=30)
    with store.unit_of_work() as uow:
        for item_id, signature in signatures.items():
            uow.similarity.put(SimilarityEntry(item_id, J, at, signature, band_keys(signature)))
        uow.commit()
    grams = {i: shingles(f"{d['title']}\n{d['body']}", 2) for i, d in docs.items()}
    hits = peer_hits = queries = 0
    called: list[str] = []
    duplicates = [p for p in pairs if p["label"] == "duplicate"]
    with store.unit_of_work() as uow:
        for pair in duplicates[:asked]:
            for side, wanted in (("a", "b"), ("b", "a")):
                one, other = _id(pair, side), _id(pair, wanted)
                found = uow.similarity.candidates(band_keys(signatures[one]), J, at, CANDIDATES)
                top = [i for _, i in ranked(signatures[one], found, exclude=one)[:5]]
                hits += other in top
                if peer:
                    exact = sorted(
                        (i for i in grams if i != one),
                        key=lambda i: -len(grams[one] & grams[i]) / len(grams[one] | grams[i]),
                    )
                    peer_hits += other in exact[:5]
                queries += 1
    for pair in pairs:
        score = estimated_jaccard(signatures[_id(pair, "a")], signatures[_id(pair, "b")])
        if score >= THRESHOLD:
            called.append(str(pair["label"]))
    result = Quality(
        recall_at_5=hits / queries,
        precision=called.count("duplicate") / max(len(called), 1),
        recall=called.count("duplicate") / len(duplicates),
        peer_recall_at_5=peer_hits / queries,
        queries=queries,
        corpus=len(docs),
    )
    report(
        f"quality  corpus {result.corpus:>6}  recall@5 {result.recall_at_5:.3f}"
        f"  (exact full scan {result.peer_recall_at_5:.3f})"
        f"  at threshold {THRESHOLD}: precision {result.precision:.3f}"
        f" recall {result.recall:.3f}  ({len(pairs)} labelled pairs)"
    )
    return result


def _id(pair: dict[str, object], side: str) -> str:
    doc = pair[side]
    assert isinstance(doc, dict)
    return str(doc["id"])


def submitted(template: Item, doc: Doc, at: datetime) -> Item:
    """``template`` as the item ``doc`` (its id, title and body), submitted by the author at
    ``at``."""
    return attrs.evolve(
        template,
        id=doc["id"],
        texts=(TextVersion(1, doc["title"], doc["body"], AUTHOR.account_id, at),),
        created_at=at,
        submitted_at=at,
        state_since=at,
        lead_author_id=AUTHOR.account_id,
        coauthor_ids=(),
    )


def build(store: Store, count: int) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """``count`` submitted items of the last two years, each indexed; their ids and
    signatures."""
    analyzer = MinHashAnalyzer(key=KEY)
    template = attrs.evolve(
        sample_item("template"),
        jurisdiction=J,
        state=ItemState.SUBMITTED,
        secret=False,
        opted_out=frozenset(),
        assignments=(),
        feedback=(),
        reviews=(),
        issued_at=None,
        closed_at=None,
        merged_into=None,
        merged_from=(),
        merged_authors=frozenset(),
        commission_id=None,
        reported_from=None,
        reported_as=None,
        review_overruns=(),
    )
    ids: list[str] = []
    signatures: dict[str, tuple[int, ...]] = {}
    batch = 5000
    docs = list(corpus(count))
    for start in range(0, count, batch):
        with store.unit_of_work() as uow:
            for n, doc in enumerate(docs[start : start + batch], start=start):
                at = NOW - timedelta(minutes=7 * (count - n))  # ~ the last 16 months at 100,000
                item = submitted(template, doc, at)
                uow.items.add(item)
                signature = analyzer.signature(doc["title"], doc["body"])
                uow.similarity.put(SimilarityEntry(item.id, J, at, signature, band_keys(signature)))
                ids.append(item.id)
                signatures[item.id] = signature
            uow.commit()
    return ids, signatures


def make_store(sqlite: bool) -> Store:
    """The memory store, or a new encrypted SQLite file."""
    if not sqlite:
        return MemoryStore()
    from qiandao_adapters.crypto import KeyRing
    from qiandao_adapters.sql import SqlStore

    store = SqlStore(
        f"sqlite:///{Path(tempfile.mkdtemp()) / 'similar.db'}", keys=KeyRing.generate()
    )
    store.create_all()
    return store


def latency(
    count: int, calls: int, *, sqlite: bool = False, report: Callable[[str], None] = print
) -> dict[str, float]:
    """Median and p95 milliseconds of ``similar_items`` over ``count`` items, and of the
    numpy full scan of the same signatures; their ratio."""
    import numpy as np

    store = make_store(sqlite)
    enrol(store, EDITOR, AUTHOR, at=NOW - timedelta(days=800))
    started = time.perf_counter()
    ids, signatures = build(store, count)
    built = time.perf_counter() - started
    qd = Qiandao(store, clock=ManualClock(NOW), hasher=None, analyzer=MinHashAnalyzer(key=KEY))
    matrix = np.array([signatures[i] for i in ids], dtype=np.uint32)
    asked = random.Random(7).sample(ids, calls)
    ours: list[float] = []
    peer: list[float] = []
    sizes: list[int] = []
    for item_id in asked:
        t0 = time.perf_counter()
        found = qd.similar_items(EDITOR, item_id)
        ours.append((time.perf_counter() - t0) * 1000)
        sizes.append(len(found))
        t0 = time.perf_counter()
        row = np.array(signatures[item_id], dtype=np.uint32)
        scores = (matrix == row).mean(axis=1)
        best = np.argpartition(-scores, 6)[:6]
        _ = sorted((float(-scores[i]), ids[i]) for i in best if ids[i] != item_id)[:5]
        peer.append((time.perf_counter() - t0) * 1000)
    figures = {
        "median_ms": statistics.median(ours),
        "p95_ms": _p95(ours),
        "peer_median_ms": statistics.median(peer),
        "peer_p95_ms": _p95(peer),
    }
    where = "sqlite (encrypted)" if sqlite else "memory"
    report(
        f"latency  {where}, {count} items (built in {built:.0f} s), {calls} calls:"
        f" similar_items median {figures['median_ms']:.1f} ms p95 {figures['p95_ms']:.1f} ms"
        f" (results {min(sizes)}-{max(sizes)});"
        f" numpy full scan median {figures['peer_median_ms']:.1f} ms"
        f" p95 {figures['peer_p95_ms']:.1f} ms;"
        f" ours / peer {figures['median_ms'] / figures['peer_median_ms']:.2f}"
    )
    return figures


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run both measurements and print their lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--distractors", type=int, default=500)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args(argv)
    found = quality(args.distractors)
    timed = latency(args.items, args.calls, sqlite=args.sqlite)
    return {"quality": found, "latency": timed}


if __name__ == "__main__":
    main()
