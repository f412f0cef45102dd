"""Benchmark: every lane's first page and its count on SQLite (10,000 items by default).

The corpus of ``benchmarks/sql.py`` (its documents predate ``state_since``: the lanes derive it)
is bulk-loaded into a SQLite file; then, per lane of the editor, the deputy, the three signers
and the busiest handling unit, the median wall time (``RUNS`` runs after a warm-up) of

- ``Qiandao.lane(actor, lane, limit=50)``: the first page (page query and count, views built);
- the store's ``lane_counts([query])``: the count alone;

each printed with the ratio to its peer measured in the same run: the bare SQL statements the
call issued, replayed straight through the driver (same rows, no documents decoded). The
target is ≤ 50 ms each. Run by hand::

    python benchmarks/lanes.py              # 10,000 items
    python benchmarks/lanes.py --items 100000

``tests/test_benchmarks.py`` runs :func:`measure` on a few hundred items (nothing timed there).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from qiandao import Actor, Lane, Qiandao, Role, RuleSet
from qiandao.lanes import lanes_of
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.sql import SqlStore, make_engine
from sql import (  # benchmarks/sql.py
    _UNITS_OF,
    EDITOR,
    NOW,
    RUNS,
    Corpus,
    Statements,
    bulk_load,
    median_ms,
    run_sql,
)

TARGET_MS = 50.0


def actors() -> list[Actor]:
    """Every role with lanes, in the editor's jurisdiction; the unit with most work."""
    j = EDITOR.jurisdiction
    unit = _UNITS_OF[j][0]
    return [
        EDITOR,
        Actor("bench-deputy", Role.DEPUTY, j),
        Actor("bench-head", Role.OFFICE_HEAD, j),
        Actor("bench-secretary", Role.SECRETARY_GENERAL, j),
        Actor("bench-chair", Role.CHAIR, j),
        Actor("bench-unit", Role.HANDLING_UNIT, j, unit_id=unit),
    ]


def measure(n: int, runs: int = RUNS, report: Callable[[str], None] = print) -> dict[str, float]:
    """Load ``n`` items into a temporary SQLite file and time every lane; figures in ms."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="qiandao-lanes-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'lanes.sqlite3'}")
        try:
            bulk_load(engine, Corpus(n), report)
            store = SqlStore(engine)
            enrol(store, *actors())  # every query checks its actor's account
            qd = Qiandao(store, clock=ManualClock(NOW), rules=RuleSet.zhoushan(), hasher=None)
            recorder = Statements(engine)
            report(f"  {'actor / lane':<34} {'page':>8} {'×SQL':>6} {'count':>8} {'×SQL':>6}  rows")
            for actor in actors():
                for lane in lanes_of(actor.role):
                    figures.update(_lane_figures(qd, store, recorder, actor, lane, runs, report))
        finally:
            engine.dispose()
    return figures


def _lane_figures(
    qd: Qiandao,
    store: SqlStore,
    recorder: Statements,
    actor: Actor,
    lane: Lane,
    runs: int,
    report: Callable[[str], None],
) -> dict[str, float]:
    query, _ = qd._lane_query(actor, lane)

    def page() -> object:
        return qd.lane(actor, lane, limit=50)

    def count() -> object:
        with store.unit_of_work() as uow:
            return uow.items.lane_counts([query])

    with recorder.capture() as page_sql:
        first = qd.lane(actor, lane, limit=50)
    with recorder.capture() as count_sql:
        count()
    engine = recorder.engine
    key = f"{actor.role.value}/{lane.value}"
    found = {
        key: median_ms(page, runs),
        f"{key}/sql": median_ms(lambda: run_sql(engine, page_sql), runs),
        f"{key}/count": median_ms(count, runs),
        f"{key}/count_sql": median_ms(lambda: run_sql(engine, count_sql), runs),
    }
    flag = "" if max(found[key], found[f"{key}/count"]) <= TARGET_MS else "  over target"
    report(
        f"  {actor.role.label + ' ' + lane.label:<32} {found[key]:>8.2f}"
        f" {found[key] / max(found[f'{key}/sql'], 1e-6):>6.1f}"
        f" {found[f'{key}/count']:>8.2f}"
        f" {found[f'{key}/count'] / max(found[f'{key}/count_sql'], 1e-6):>6.1f}"
        f"  {len(first.items)}/{first.total}{flag}"
    )
    return found


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}; {args.items:,} items on SQLite; ms, median")
    measure(args.items, args.runs)


if __name__ == "__main__":
    main()
