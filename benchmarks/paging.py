"""Benchmark: a deep page costs what the first page costs (keyset cursors, issue 11).

Builds a store of ``--items`` published items of one author (SQLite file, or ``--url``'s
database, its qiandao tables renewed), then times ``Qiandao.published`` and
``Qiandao.my_items``: the first page of 50 and the page of 50 after ``--depth`` rows (reached
by the cursor a client would hold), and prints the medians and deep / first.

``--compare REV`` measures git revision ``REV`` and this checkout alternately, each in a fresh
process on a fresh store (``REV``'s ``src`` and ``adapters`` taken with ``git archive``). A
revision before cursors pages with ``offset=DEPTH``: its deep / first is the cost that the
cursors remove.

Run ``python benchmarks/paging.py [--items N] [--depth D] [--url URL] [--compare REV]``.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from qiandao import SHANGHAI, Actor, Qiandao, Role
from qiandao.ports.store import ItemOrder, ItemQuery, Store
from qiandao.rules.lifecycle import ItemState
from qiandao.testing import ManualClock, enrol
from qiandao.testing.builders import sample_item

J = "zhoushan"
AUTHOR = Actor("m1", Role.MEMBER, J)
READER = Actor("e1", Role.EDITOR, J)
START = datetime(2025, 1, 1, 9, tzinfo=SHANGHAI)
PAGE = 50


def make_store(url: str | None) -> Store:
    """A fresh SQL store in plaintext mode (the rows' decoding is the same on every page):
    a new SQLite file, or ``url``'s database with its qiandao tables dropped and created."""
    from qiandao_adapters.sql import SqlStore

    where = url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'paging.sqlite3'}"
    store = SqlStore(where, plaintext=True)
    if url:
        store.drop_all()
    store.create_all()
    return store


def build(store: Store, count: int) -> None:
    """``count`` published items of one author, one a minute (creation and issue)."""
    template = attrs.evolve(
        sample_item("template"),
        lead_author_id=AUTHOR.account_id,
        coauthor_ids=(),
        state=ItemState.CLOSED,
        secret=False,
        opted_out=frozenset(),
        commission_id=None,
        assignments=(),
        feedback=(),
    )
    for first in range(0, count, 500):
        with store.unit_of_work() as uow:
            for n in range(first, min(first + 500, count)):
                at = START + timedelta(minutes=n)
                uow.items.add(
                    attrs.evolve(
                        template, id=f"b{n:07d}", created_at=at, submitted_at=at, issued_at=at
                    )
                )
            uow.commit()
    enrol(store, AUTHOR, READER, at=START)


def _median_ms(call: Callable[[], object], runs: int) -> float:
    call()  # warm the caches and the statements
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _deep_call(qd: Qiandao, store: Store, listing: str, depth: int) -> Callable[[], Any]:
    """The call of the page after ``depth`` rows: a cursor where the service has them, else
    ``offset`` (a revision before cursors)."""
    method = getattr(qd, listing)
    actor = READER if listing == "published" else AUTHOR
    if "cursor" not in inspect.signature(method).parameters:
        return lambda: method(actor, limit=PAGE, offset=depth)
    from qiandao.paging import encode_position
    from qiandao.queries import order_position

    if listing == "published":
        order, scope = ItemOrder.ISSUED_NEWEST_FIRST, "public"
        query = ItemQuery(published_only=True, order=order, limit=depth)
    else:
        order, scope = ItemOrder.NEWEST_FIRST, AUTHOR.account_id
        query = ItemQuery(author_id=AUTHOR.account_id, order=order, limit=depth)
    with store.unit_of_work() as uow:
        last = uow.items.find(query)[-1]
    cursor = encode_position(listing, scope, order_position(order, last))
    return lambda: method(actor, limit=PAGE, cursor=cursor)


def _rows(page: object) -> int:
    """How many rows a page holds (a ``Page`` now, a list before cursors)."""
    items = getattr(page, "items", page)
    assert isinstance(items, list | tuple)
    return len(items)


def measure(url: str | None, count: int, depth: int, runs: int) -> dict[str, float]:
    """Medians in ms: ``<listing>_first`` and ``<listing>_deep`` for both listings."""
    store = make_store(url)
    build(store, count)
    qd = Qiandao(store, clock=ManualClock(START + timedelta(days=400)), hasher=None)
    figures: dict[str, float] = {}
    for listing in ("published", "my_items"):
        actor = READER if listing == "published" else AUTHOR
        first = functools.partial(getattr(qd, listing), actor, limit=PAGE)
        deep = _deep_call(qd, store, listing, depth)
        assert _rows(first()) == min(PAGE, count)
        assert _rows(deep()) == min(PAGE, max(count - depth, 0))
        figures[f"{listing}_first"] = _median_ms(first, runs)
        figures[f"{listing}_deep"] = _median_ms(deep, runs)
    return figures


def report(title: str, figures: dict[str, float], depth: int) -> None:
    print(title)
    for listing in ("published", "my_items"):
        first, deep = figures[f"{listing}_first"], figures[f"{listing}_deep"]
        print(
            f"  {listing:<10} first page {first:8.2f} ms   after {depth:,} rows {deep:8.2f} ms"
            f"   deep / first {deep / first:5.2f}×"
        )


def _in_process(code_root: Path | None, args: argparse.Namespace) -> dict[str, float]:
    """:func:`measure` in a fresh process, on ``code_root``'s library (this checkout: None)."""
    from lifecycle import run_fresh  # benchmarks/lifecycle.py

    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import paging;"
        "url = sys.argv[5] or None;"
        "print(json.dumps(paging.measure(url, *map(int, sys.argv[2:5]))))"
    )
    argv = (str(args.items), str(args.depth), str(args.runs), args.url or "")
    figures: dict[str, float] = run_fresh(code_root, script, *argv)
    return figures


def compare(args: argparse.Namespace) -> None:
    from lifecycle import checkout  # benchmarks/lifecycle.py

    other = checkout(args.compare)
    rounds: dict[str, list[dict[str, float]]] = {"then": [], "now": []}
    for _ in range(args.rounds):
        rounds["then"].append(_in_process(other, args))
        rounds["now"].append(_in_process(None, args))
    for name, label in (("then", args.compare), ("now", "this checkout")):
        keys = rounds[name][0]
        medians = {k: statistics.median(r[k] for r in rounds[name]) for k in keys}
        report(
            f"{label}: {args.items:,} items, median of {args.rounds} rounds", medians, args.depth
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--depth", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", help="a database URL (its qiandao tables are renewed)")
    parser.add_argument("--compare", metavar="REV", help="also measure git revision REV")
    args = parser.parse_args()
    if args.compare:
        compare(args)
        return
    where = args.url.split("://", maxsplit=1)[0] if args.url else "SQLite file"
    figures = measure(args.url, args.items, args.depth, args.runs)
    report(f"{where}: {args.items:,} published items, pages of {PAGE}", figures, args.depth)


if __name__ == "__main__":
    main()
