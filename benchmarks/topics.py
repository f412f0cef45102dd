"""Benchmark: hot topics of a quarter (issue 13): ``Qiandao.hot_topics`` over 10,000 items.

A store (memory, or ``--sqlite``: an encrypted SQLite file, terms as keyed tokens) holds
``--items`` submitted items of 2026 Q4 and ``--background`` items in each of the four quarters
before, with realistic texts (the similar-items generator: 30 issues of 10 topics in 22
places). ``--burst`` of the quarter's items also tell of a typhoon that damaged sea walls, a
matter the background never mentions. Each item is indexed as the service indexes it (jieba
terms of the title and body). ``hot_topics`` is timed ``--calls`` times (median; the first
call included) and the burst's rank reported: it should lead although the always-present
words of the topics are said in far more items.

The peer, measured in the same run on the same terms, is a plain ``Counter`` of the quarter's
terms over every item (the most frequent words, no background, no index): what ranking by
frequency costs and gives.

Run ``python benchmarks/topics.py [--items 10000] [--background 2500] [--burst 300]
[--calls 5] [--sqlite]``.

Measured on the shared 2-core machine (2026-12-02), 10,000 items plus 10,000 background: memory
median 0.23 s (Counter peer 0.07 s); encrypted SQLite median 1.48 s (peer 0.09 s). The burst's
words take the first five places in both (equal weights, ordered by term key); by frequency
they are not in the first twenty.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.data: the text generator

from similar import AUTHOR, EDITOR, KEY, J, make_store, submitted  # noqa: E402
from tests.data.make_similar_pairs import corpus  # noqa: E402

from qiandao import SHANGHAI, Qiandao  # noqa: E402
from qiandao.ports.store import Store  # noqa: E402
from qiandao.rules.lifecycle import ItemState  # noqa: E402
from qiandao.rules.points import Period  # noqa: E402
from qiandao.testing import ManualClock, enrol  # noqa: E402
from qiandao.testing.builders import sample_item  # noqa: E402
from qiandao.topics import background_of, topic_entry  # noqa: E402
from qiandao_adapters.analysis import MinHashAnalyzer  # noqa: E402

QUARTER = Period.quarter(2026, 4)
NOW = datetime(2027, 1, 4, 9, tzinfo=SHANGHAI)
BURST = "强台风过境后沿海海塘多处受损，渔港防波堤出现裂缝，亟需加固海塘。"


def _days(period: Period) -> list[date]:
    span = (period.end - period.start).days + 1
    return [period.start + timedelta(days=n) for n in range(span)]


def build(store: Store, items: int, background: int, burst: int) -> dict[str, Mapping[str, int]]:
    """The quarter's ``items`` (``burst`` of them telling of the typhoon) and ``background``
    items in each of the four quarters before, stored and indexed; the quarter's terms by id."""
    analyzer = MinHashAnalyzer(key=KEY)
    template = attrs.evolve(
        sample_item("template"), jurisdiction=J, state=ItemState.SUBMITTED, secret=False
    )
    previous, earlier = background_of(QUARTER)
    quarters = [(QUARTER, items), (previous, background)]
    quarters += [(p, background) for p in _quarters_of(earlier)]
    rng = random.Random(11)
    docs = iter(corpus(items + 4 * background))
    current: dict[str, Mapping[str, int]] = {}
    for period, count in quarters:
        days = _days(period)
        with store.unit_of_work() as uow:
            for n in range(count):
                doc = next(docs)
                if period == QUARTER and n < burst:
                    doc = {**doc, "body": doc["body"] + BURST}
                at = datetime.combine(rng.choice(days), datetime.min.time(), SHANGHAI)
                at += timedelta(hours=9, minutes=rng.randrange(480))
                item = submitted(template, doc, at)
                uow.items.add(item)
                terms = analyzer.terms(item.title, item.body)
                uow.topics.put(topic_entry(item, terms))
                if period == QUARTER:
                    current[item.id] = terms
            uow.commit()
    return current


def _quarters_of(period: Period) -> list[Period]:
    """The calendar quarters a span of whole quarters holds."""
    out, start = [], period.start
    while start <= period.end:
        quarter = Period.quarter(start.year, (start.month - 1) // 3 + 1)
        out.append(quarter)
        start = quarter.end + timedelta(days=1)
    return out


def peer(terms: Mapping[str, Mapping[str, int]], limit: int = 20) -> list[str]:
    """The most frequent terms of the quarter: a ``Counter`` over every item's terms."""
    found: Counter[str] = Counter()
    for counts in terms.values():
        found.update(counts.keys())
    return [word for word, _ in found.most_common(limit)]


def run(
    items: int,
    background: int,
    burst: int,
    calls: int,
    *,
    sqlite: bool = False,
    report: Callable[[str], None] = print,
) -> dict[str, float]:
    """Time ``hot_topics`` and the peer; report the burst's rank in each."""
    store = make_store(sqlite)
    enrol(store, EDITOR, AUTHOR, at=NOW - timedelta(days=800))
    started = time.perf_counter()
    terms = build(store, items, background, burst)
    built = time.perf_counter() - started
    qd = Qiandao(store, clock=ManualClock(NOW), hasher=None, analyzer=MinHashAnalyzer(key=KEY))
    ours: list[float] = []
    for _ in range(calls):
        t0 = time.perf_counter()
        found = qd.hot_topics(EDITOR, QUARTER)
        ours.append(time.perf_counter() - t0)
    theirs: list[float] = []
    for _ in range(calls):
        t0 = time.perf_counter()
        frequent = peer(terms)
        theirs.append(time.perf_counter() - t0)
    words = [t.word for t in found.topics]
    figures = {
        "median_s": statistics.median(ours),
        "first_s": ours[0],
        "peer_median_s": statistics.median(theirs),
        "burst_rank": float(_rank("海塘", words)),
        "peer_burst_rank": float(_rank("海塘", frequent)),
    }
    where = "sqlite (encrypted)" if sqlite else "memory"
    report(
        f"hot_topics  {where}, {items} items in {QUARTER.start}..{QUARTER.end}"
        f" + {4 * background} background (built in {built:.0f} s), {calls} calls:"
        f" median {figures['median_s']:.2f} s (first {figures['first_s']:.2f} s);"
        f" peer Counter over every term {figures['peer_median_s']:.2f} s;"
        f" ours / peer {figures['median_s'] / figures['peer_median_s']:.1f};"
        f" burst word 海塘 ranked {_shown(figures['burst_rank'])} by hot_topics,"
        f" {_shown(figures['peer_burst_rank'])} by frequency;"
        f" top 5 {words[:5]} vs {frequent[:5]}"
    )
    return figures


def _rank(word: str, words: Sequence[str]) -> int:
    """1-based rank of ``word`` in ``words`` (0: absent)."""
    return words.index(word) + 1 if word in words else 0


def _shown(rank: float) -> str:
    return f"#{rank:.0f}" if rank else "not in the top 20"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the measurement and print its line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--background", type=int, default=2_500)
    parser.add_argument("--burst", type=int, default=300)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args(argv)
    return run(args.items, args.background, args.burst, args.calls, sqlite=args.sqlite)


if __name__ == "__main__":
    main()
