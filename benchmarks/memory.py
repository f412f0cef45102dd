"""Benchmark: bytes the in-memory store keeps per item, after full lifecycles.

Run ``python benchmarks/memory.py [--items N] [--compare REV]``. Runs the lifecycle benchmark's
lifecycles (submit to a rated, published reply: the item, its events, notices and audit records)
on a fresh :class:`MemoryStore` under ``tracemalloc``, and prints the bytes allocated and still
held per item (garbage collected first), with the ratio to a peer measured in the same run: the
size of one item's JSON document (``to_json``, compact UTF-8). Also prints the figure with the
notices dispatched, as a host's dispatcher leaves them. ``--compare REV`` measures git revision
``REV`` the same way, each in a fresh process.
"""

from __future__ import annotations

import argparse
import gc
import json
import tracemalloc
from datetime import timedelta

from lifecycle import checkout, lifecycles, run_fresh

from qiandao.json import to_json
from qiandao_adapters.memory import MemoryStore

TARGET = 5_000
"""Bytes per item the store should stay within (issue 14)."""


def dispatch_all(store: MemoryStore) -> int:
    """Mark every pending notice dispatched, as a dispatcher would; how many."""
    with store.unit_of_work() as uow:
        pending = uow.outbox.pending(10**9)
        for message in pending:
            uow.outbox.mark_dispatched(message.notice.id, message.recorded_at + timedelta(1))
        uow.commit()
    return len(pending)


def bytes_per_item(count: int, *, dispatched: bool = False) -> float:
    """Bytes held per item by a fresh store after ``count`` lifecycles (``dispatched``: and
    their notices marked dispatched), by ``tracemalloc``; a first lifecycle on another store
    loads what every store shares (the calendar, caches) before counting starts."""
    lifecycles(MemoryStore(), 1)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = MemoryStore()
        lifecycles(store, count)
        if dispatched:
            dispatch_all(store)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del store
    return held / count


def item_document_bytes() -> int:
    """The peer: the UTF-8 size of one lifecycle's item as its JSON document."""
    store = MemoryStore()
    lifecycles(store, 1)
    with store.unit_of_work() as uow:
        item_id = uow.events.since(0, 1)[0].event.item_id
        document = json.dumps(to_json(uow.items.get(item_id)), ensure_ascii=False)
    return len(document.encode("utf-8"))


def measure(count: int) -> dict[str, float]:
    """Bytes per item (notices pending, and dispatched) and the peer's bytes."""
    return {
        "pending": bytes_per_item(count),
        "dispatched": bytes_per_item(count, dispatched=True),
        "document": float(item_document_bytes()),
    }


def report(name: str, figures: dict[str, float], count: int) -> None:
    """Print one tree's figures."""
    document = figures["document"]
    print(f"{name}: {count:,} lifecycles, one item's JSON document {document:,.0f} B")
    for key, label in (("pending", "notices pending"), ("dispatched", "notices dispatched")):
        value = figures[key]
        print(
            f"  {label:<20} {value:>8,.0f} B/item  {value / document:4.2f}× the document,"
            f" {value / TARGET:4.2f}× the {TARGET:,} B target"
        )


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5_000)
    parser.add_argument("--compare", metavar="REV", help="also measure git revision REV")
    args = parser.parse_args()
    if args.compare:
        script = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); import memory;"
            "print(json.dumps(memory.measure(int(sys.argv[2]))))"
        )
        theirs = run_fresh(checkout(args.compare), script, str(args.items))
        report(args.compare, theirs, args.items)
        mine = run_fresh(None, script, str(args.items))
        report("this checkout", mine, args.items)
        for key in ("pending", "dispatched"):
            print(f"  this checkout / {args.compare} ({key}): {mine[key] / theirs[key]:.2f}×")
        return
    report("this checkout", measure(args.items), args.items)


if __name__ == "__main__":
    main()
