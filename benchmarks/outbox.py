"""Benchmark: what dispatching a command's notice costs, with no history and with the outbox
rows of 20,000 lifecycles behind it (issue 11: it must stay flat).

Each round submits an item (one notice) and then dispatches it; the medians of both are printed,
with the dispatch's cost as a multiple of the command's and how it grows with history. The
history is written straight into the outbox: the notices a full lifecycle leaves (counted by
running one through the service), already dispatched. Memory store and an embedded SQLite file
(encrypted at rest under a generated key).

Then the dispatcher's bookkeeping of a batch: ``--batch`` sent notices marked dispatched in one
unit of work, one ``mark_dispatched`` per notice against one ``mark_all_dispatched`` for the
batch (the peer, in the same run), on the same stores.

Run ``python benchmarks/outbox.py [--lifecycles N] [--rounds R] [--batch B]``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from lifecycle import ACTORS, MEMBER, PAYLOAD, J, one_lifecycle  # benchmarks/lifecycle.py

from qiandao import SHANGHAI, OutboxState, Qiandao, Unit
from qiandao.ports.notify import Notice
from qiandao.ports.store import OutboxMessage, Store
from qiandao.testing import ManualClock, enrol

START = datetime(2026, 11, 2, 9, tzinfo=SHANGHAI)
_BATCH = 2_000


class _Null:
    """A notifier that accepts everything (the gateway's cost is not measured)."""

    def send(self, notice: Notice) -> None:
        return


def _service(store: Store) -> Qiandao:
    counter = itertools.count()
    clock = ManualClock(START)
    return Qiandao(
        store, clock=clock, notifier=_Null(), ids=lambda: f"{next(counter):012d}", hasher=None
    )


def _prepare(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.units.add(Unit("unit-1", "市交通运输局", J))
        uow.commit()
    enrol(store, *ACTORS)


def notices_per_lifecycle(make: Callable[[], Store]) -> list[OutboxMessage]:
    """The outbox rows one full lifecycle leaves (submit to rating, published)."""
    store = make()
    _prepare(store)
    one_lifecycle(_service(store))
    with store.unit_of_work() as uow:
        return uow.outbox.pending(1_000)


def write_history(store: Store, template: list[OutboxMessage], lifecycles: int) -> int:
    """``lifecycles`` copies of ``template``, dispatched, written in batches; how many rows."""
    rows = 0
    pending: list[OutboxMessage] = []
    sent = START - timedelta(days=1)
    for n in range(lifecycles):
        for k, message in enumerate(template):
            notice = Notice(
                f"h{n:07d}-{k:02d}", message.notice.kind, message.notice.recipients,
                message.notice.text, message.notice.at, f"hist-{n:07d}",
            )  # fmt: skip
            pending.append(OutboxMessage(notice, sent, sent, 0, OutboxState.DISPATCHED, sent))
        if len(pending) >= _BATCH or n == lifecycles - 1:
            with store.unit_of_work() as uow:
                uow.outbox.add(pending)
                uow.commit()
            rows += len(pending)
            pending = []
    return rows


def measure(make: Callable[[], Store], lifecycles: int, rounds: int) -> tuple[float, float]:
    """Median seconds of one submit and of the dispatch after it, over ``lifecycles`` of
    history."""
    store = make()
    _prepare(store)
    if lifecycles:
        write_history(store, notices_per_lifecycle(make), lifecycles)
    qd = _service(store)
    commands: list[float] = []
    dispatches: list[float] = []
    gc.collect()
    for _ in range(rounds):
        start = time.perf_counter()
        qd.submit_new(MEMBER, PAYLOAD)
        middle = time.perf_counter()
        report = qd.dispatch()
        end = time.perf_counter()
        assert report.sent == 1, report
        commands.append(middle - start)
        dispatches.append(end - middle)
    return statistics.median(commands), statistics.median(dispatches)


@contextmanager
def stores() -> Iterator[list[tuple[str, Callable[[], Store]]]]:
    """The stores compared: memory, and fresh encrypted SQLite files in a temporary folder."""
    from qiandao_adapters.crypto import KeyRing
    from qiandao_adapters.memory import MemoryStore
    from qiandao_adapters.sql import SqlStore

    with tempfile.TemporaryDirectory() as folder:
        counter = itertools.count()
        keys = KeyRing.generate()

        def sqlite() -> Store:
            store = SqlStore(f"sqlite:///{Path(folder) / f'outbox-{next(counter)}.db'}", keys=keys)
            store.create_all()
            return store

        yield [("memory", MemoryStore), ("sqlite", sqlite)]


def run(lifecycles: int, rounds: int, report: Callable[[str], None] = print) -> dict[str, float]:
    """Measure every store at no history and at ``lifecycles``; print and return the growth of
    the dispatch's cost (``store`` → dispatch at history / dispatch at none)."""
    growth: dict[str, float] = {}
    with stores() as makers:
        for name, make in makers:
            empty_command, empty_dispatch = measure(make, 0, rounds)
            full_command, full_dispatch = measure(make, lifecycles, rounds)
            growth[name] = full_dispatch / empty_dispatch
            for label, command, dispatch in (
                ("0", empty_command, empty_dispatch),
                (f"{lifecycles:,}", full_command, full_dispatch),
            ):
                report(
                    f"{name:7} history {label:>7} lifecycles: submit {command * 1e3:7.3f} ms, "
                    f"dispatch {dispatch * 1e3:7.3f} ms ({dispatch / command:5.2f}× the command)"
                )
            report(f"{name:7} dispatch at {lifecycles:,} / at 0: {growth[name]:.2f}×")
    return growth


def batch_marking(make: Callable[[], Store], size: int, rounds: int) -> tuple[float, float]:
    """Median seconds to mark ``size`` claimed notices dispatched (and commit): one call per
    notice, and one call for the batch; each round marks fresh notices."""
    store = make()
    one: list[float] = []
    batch: list[float] = []
    for n in range(rounds):
        for label, times in (("one", one), ("all", batch)):
            messages = [
                OutboxMessage(
                    Notice(f"{label}-{n:05d}-{k:04d}", "k", ("r",), "t", START, "e"), START
                )
                for k in range(size)
            ]
            with store.unit_of_work() as uow:
                uow.outbox.add(messages)
                ids = [m.notice.id for m in uow.outbox.claim(size, START, timedelta(1), "w")]
                uow.commit()
            started = time.perf_counter()
            with store.unit_of_work() as uow:
                if label == "one":
                    for notice_id in ids:
                        uow.outbox.mark_dispatched(notice_id, START)
                else:
                    uow.outbox.mark_all_dispatched(ids, START)
                uow.commit()
            times.append(time.perf_counter() - started)
    return statistics.median(one), statistics.median(batch)


def run_batches(size: int, rounds: int, report: Callable[[str], None] = print) -> None:
    """Print the batch marking figures of every store."""
    with stores() as makers:
        for name, make in makers:
            one, batch = batch_marking(make, size, rounds)
            report(
                f"{name:7} marking {size} sent notices: one call each {one * 1e3:7.3f} ms, "
                f"one call for the batch {batch * 1e3:7.3f} ms ({one / batch:5.1f}×)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lifecycles", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    run(args.lifecycles, args.rounds)
    run_batches(args.batch, max(5, args.rounds // 10))


if __name__ == "__main__":
    main()
