"""Benchmark: the inboxes, every lane's first page and overdue top 100 against their bare SQL.

The corpus of ``benchmarks/sql.py`` is bulk-loaded into SQLite (a temporary file) and, with
``--pg-url``, PostgreSQL (a database ``qiandao_views`` or ``$QIANDAO_BENCH_DB``, dropped at the
end); then the median wall time (``RUNS`` runs after a warm-up, each in turn with its peer's) of

- ``Qiandao.inbox`` of a member (their drafts, returned, in-handling and replied items), of the
  busiest handling unit and of the editor;
- ``Qiandao.lane(actor, lane, limit=50)`` for every lane of the editor, the deputy, the three
  signers and the unit (target: ≤ 20 ms each);
- ``Qiandao.overdue(editor, limit=100)`` (target: within 3× of its bare SQL);

each with the ratio to its peer measured in the same run: the SELECT statements the call issued,
replayed straight through the driver (same rows, no documents decoded, no views built). Run by
hand::

    python benchmarks/views.py --items 100000 [--pg-url postgresql+psycopg://postgres@host/db]

``--compare REV`` loads each database once and times git revision ``REV`` and this checkout on
it alternately, each round in a fresh process (``REV``'s ``src`` and ``adapters`` taken with
``git archive``): the before and after of a change, measured in one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lanes import actors  # benchmarks/lanes.py

from qiandao import Actor, Qiandao, Role, RuleSet
from qiandao.lanes import lanes_of
from qiandao.testing import ManualClock, enrol
from qiandao_adapters.sql import SqlStore, make_engine
from sql import (  # benchmarks/sql.py
    EDITOR,
    NOW,
    RUNS,
    Corpus,
    Statements,
    bulk_load,
    explain,
    paired_medians_ms,
    run_sql,
    server_database,
    sqlite_database,
)

LANE_TARGET_MS = 20.0
OVERDUE_TARGET_RATIO = 3.0
MEMBER = Actor("p0001", Role.MEMBER, EDITOR.jurisdiction)  # an author of the corpus


def measure(
    url: str, n: int, runs: int = RUNS, report: Callable[[str], None] = print, plans: bool = False
) -> dict[str, float]:
    """Load ``n`` items into ``url``'s database and time every view; figures in ms."""
    engine = make_engine(url)
    try:
        bulk_load(engine, Corpus(n), report)
    finally:
        engine.dispose()
    return views(url, runs, report, plans)


def views(
    url: str, runs: int = RUNS, report: Callable[[str], None] = print, plans: bool = False
) -> dict[str, float]:
    """Time every view on the corpus loaded in ``url``'s database; figures in ms."""
    engine = make_engine(url)
    figures: dict[str, float] = {}
    try:
        store = SqlStore(engine)
        people = [*actors(), MEMBER]
        enrol(store, *people)  # every query checks its actor's account
        qd = Qiandao(store, clock=ManualClock(NOW), rules=RuleSet.zhoushan(), hasher=None)
        recorder = Statements(engine)

        def timed(key: str, label: str, call: Callable[[], object], target: str = "") -> None:
            with recorder.capture() as captured:
                call()
            figures[key], figures[f"{key}/sql"] = paired_medians_ms(
                call, lambda: run_sql(engine, captured), runs
            )
            ratio = figures[key] / max(figures[f"{key}/sql"], 1e-6)
            report(
                f"  {label:<40} {figures[key]:>8.2f} ms   bare SQL {figures[f'{key}/sql']:>7.2f}"
                f" ms   {ratio:>5.1f}×{target}"
            )
            if plans:
                for statement, params in captured:
                    if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                        for line in explain(engine, statement, params):
                            report(f"      {line}")

        unit = next(a for a in people if a.role is Role.HANDLING_UNIT)
        timed("inbox/member", "inbox of a member", lambda: qd.inbox(MEMBER, limit=50))
        timed("inbox/unit", "inbox of the busiest unit", lambda: qd.inbox(unit, limit=50))
        timed("inbox/editor", "inbox of the editor", lambda: qd.inbox(EDITOR, limit=50))
        for actor in actors():
            for lane in lanes_of(actor.role):
                key = f"lane/{actor.role.value}/{lane.value}"

                def page(actor: Actor = actor, lane: object = lane) -> object:
                    return qd.lane(actor, lane, limit=50)  # type: ignore[arg-type]

                timed(key, f"{actor.role.label} {lane.label}", page, "")
                if figures[key] > LANE_TARGET_MS:
                    report(f"    over the {LANE_TARGET_MS:.0f} ms target")
        timed("overdue", "overdue top 100", lambda: qd.overdue(EDITOR, limit=100))
        ratio = figures["overdue"] / max(figures["overdue/sql"], 1e-6)
        verdict = "met" if ratio <= OVERDUE_TARGET_RATIO else "MISSED"
        report(f"    overdue target ≤ {OVERDUE_TARGET_RATIO:.0f}× bare SQL: {verdict}")
    finally:
        engine.dispose()
    return figures


def compare(rev: str, found: list[tuple[str, str]], n: int, runs: int, rounds: int) -> None:
    """Load each database once, then time revision ``rev`` and this checkout on it alternately
    (``rounds`` each, every round in a fresh process); print each figure's best median, then
    and now, and then / now."""
    from lifecycle import checkout, run_fresh  # benchmarks/lifecycle.py

    other = checkout(rev)
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import views;"
        "print(json.dumps(views.views(sys.argv[2], int(sys.argv[3]), lambda _line: None)))"
    )
    for name, url in found:
        engine = make_engine(url)
        try:
            bulk_load(engine, Corpus(n), lambda _line: None)
        finally:
            engine.dispose()
        best: dict[str, dict[str, float]] = {"then": {}, "now": {}}
        for _ in range(rounds):
            for label, root in (("then", other), ("now", None)):
                for key, value in run_fresh(root, script, url, str(runs)).items():
                    best[label][key] = min(value, best[label].get(key, value))
        print(f"== {name}: {rev} (then) against this checkout (now), best of {rounds} rounds")
        for key, now in best["now"].items():
            then = best["then"][key]
            print(f"  {key:<40} then {then:>8.2f} ms   now {now:>8.2f} ms   {then / now:>5.2f}×")


@contextmanager
def _databases(pg_url: str | None) -> Iterator[list[tuple[str, str]]]:
    with (
        tempfile.TemporaryDirectory(prefix="qiandao-views-") as folder,
        sqlite_database(Path(folder) / "views.sqlite3") as lite,
    ):
        if pg_url is None:
            yield [("sqlite", lite)]
            return
        name = os.environ.get("QIANDAO_BENCH_DB", "qiandao_views")
        with server_database(pg_url, name) as pg:
            yield [("sqlite", lite), ("postgresql", pg)]


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--pg-url", default=None, help="a server URL that may create databases")
    parser.add_argument("--only", default=None, help="sqlite or postgresql")
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--compare", metavar="REV", help="time git revision REV alternately")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not os.environ.get("QIANDAO_KEYS"):  # the store's own key; the corpus rows are clear
        from qiandao_adapters.crypto import KeyRing

        os.environ["QIANDAO_KEYS"] = KeyRing.generate().dumps().strip()
    print(f"python {sys.version.split()[0]}; {args.items:,} items; ms, median of {args.runs}")
    with _databases(args.pg_url) as found:
        if args.compare:
            chosen = [(name, url) for name, url in found if args.only in (None, name)]
            compare(args.compare, chosen, args.items, args.runs, args.rounds)
            return
        for name, url in found:
            if args.only and name != args.only:
                continue
            print(f"== {name}")
            measure(url, args.items, args.runs, plans=args.plans)


if __name__ == "__main__":
    main()
