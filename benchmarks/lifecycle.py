"""Benchmark: full lifecycles through the service on the in-memory store.

submit → 初审 → deputy → sign → assign → accept → reply → rate (published), per item.
Run ``python benchmarks/lifecycle.py [--items N]``; prints items per second and the ratio to the
2,000 items/s target, and the same run on an embedded SQLite file for comparison.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from qiandao import SHANGHAI, Actor, Qiandao, Rating, Role, Unit
from qiandao.ports.store import Store
from qiandao.testing import ManualClock
from qiandao_adapters.memory import MemoryStore

TARGET = 2_000
J = "zhoushan"
MEMBER = Actor("m1", Role.MEMBER, J)
EDITOR = Actor("e1", Role.EDITOR, J)
DEPUTY = Actor("d1", Role.DEPUTY, J)
HEAD = Actor("h1", Role.OFFICE_HEAD, J)
UNIT = Actor("u1", Role.HANDLING_UNIT, J, "unit-1")
PAYLOAD = {"title": "关于海岛交通的建议", "body": "正文" * 200, "category": "hot_issue"}


def lifecycles(store: Store, count: int) -> float:
    """Run ``count`` full lifecycles; return seconds elapsed."""
    clock = ManualClock(datetime(2026, 11, 2, 9, tzinfo=SHANGHAI))
    counter = itertools.count()
    qd = Qiandao(store, clock=clock, ids=lambda: f"{next(counter):012d}")
    with store.unit_of_work() as uow:
        uow.units.add(Unit("unit-1", "市交通运输局", J))
        uow.commit()
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        item = qd.submit_new(MEMBER, PAYLOAD)
        qd.pass_preliminary(EDITOR, item.id, destinations=["forward_to_departments"])
        qd.approve(DEPUTY, item.id)
        qd.sign(HEAD, item.id)
        item = qd.assign(EDITOR, item.id, ["unit-1"])
        assignment = item.assignments[0].id
        qd.accept(UNIT, item.id, assignment)
        qd.reply(UNIT, item.id, assignment, "已办理")
        item = qd.rate(MEMBER, item.id, assignment, Rating.SATISFIED)
        assert item.published
    return time.perf_counter() - start


def _measure(name: str, make: Callable[[], Store], count: int, rounds: int) -> float:
    rates = [count / lifecycles(make(), count) for _ in range(rounds)]
    rate = statistics.median(rates)
    print(
        f"  {name:<28} {rate:>9,.0f} items/s  (median of {rounds}, {count} items each;"
        f" best {max(rates):,.0f})"
    )
    return rate


def _sqlite() -> Store:
    from qiandao_adapters.sql import SqlStore

    path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    store = SqlStore(f"sqlite:///{path}")
    store.create_all()
    return store


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("full lifecycles (8 commands each) through Qiandao")
    memory = _measure("in-memory store", MemoryStore, args.items, args.rounds)
    print(f"  ratio to target {TARGET:,}/s: {memory / TARGET:.2f}×")
    sqlite = _measure("SQLite file (for comparison)", _sqlite, max(args.items // 10, 50), 1)
    print(f"  in-memory / SQLite: {memory / sqlite:.1f}×")


if __name__ == "__main__":
    main()
