"""Benchmark: the SQL store at scale (SQLite and PostgreSQL; MariaDB on request).

1. Full lifecycles per second through the service (``lifecycle.lifecycles``: 8 commands each).
2. ``N`` items bulk-loaded straight into the store's tables (rows made by the store's own row
   mapping, ``qiandao_adapters.sql.rows``, credits included; SQLAlchemy Core ``executemany`` in
   batches of 10,000 items, secondary indexes built after the load, then ``VACUUM ANALYZE`` /
   ``ANALYZE``), then the median latency of

   - the overdue list, top 100: ``Qiandao.overdue(editor, limit=100)`` (and the store query and
     the bare SQL it issues), target ≤ 50 ms on PostgreSQL at 1,000,000 items;
   - the quarterly bulletin: ``Qiandao.quarterly_bulletin(editor, …)`` (and the store's
     ``statistics``), target ≤ 1 s on PostgreSQL at 1,000,000 items;

   with the ``EXPLAIN`` plans of the statements they issue;
3. the periodic job on the loaded corpus (``--no-jobs`` leaves it out): a first pass that sends
   the reminders still due (about 10,000; target ≤ 10 s), then passes with nothing due (median,
   target ≤ 50 ms) beside the bare SQL of the reads such a pass issues.

The bulk items can be written to: each is at version 1 with its one event (DRAFTED, carrying the
item) in the log, numbered in the change feed, so commands act on them without a conflict.

Run by hand, not in CI::

    python benchmarks/sql.py                      # 100,000 and 1,000,000 items
    python benchmarks/sql.py --items 1000000      # one size
    python benchmarks/sql.py --quick              # 10,000 items, a quick look
    python benchmarks/sql.py --backends postgresql,mysql

PostgreSQL: ``--pg-url`` (default ``$QIANDAO_BENCH_POSTGRES_URL`` or
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) is a server URL with the right to
create databases; the benchmark creates ``qiandao_bench`` (``$QIANDAO_BENCH_DB``) and drops it at
the end (MariaDB: ``--mysql-url``, the same). SQLite: a file in a temporary directory.

The corpus: items created evenly from 2024-01-01 to the benchmark's "now" (2026-11-20), in
that order; five jurisdictions (40/20/20/12/8 %), 2,000 members and officers, 200 units, the
states of a working office (about 10 % of items in handling with an open assignment, due dates
spread over the past year), replies with ratings, extensions and declines, adoption and
instruction feedback, merged authors, 30 sectors.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from lifecycle import lifecycles  # benchmarks/lifecycle.py
from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.engine import make_url

from qiandao import CONVERTER, SHANGHAI, Actor, Item, Period, Qiandao, Role, RuleSet
from qiandao.events import Change, Event, EventKind, replay
from qiandao.paging import encode_position
from qiandao.ports.store import AssignmentQuery, ItemOrder, ItemQuery, StatisticsQuery
from qiandao.queries import order_position
from qiandao.rules.deadlines import DeadlineRules, DeadlineStatus, classify, end_of_day, local_day
from qiandao.rules.lifecycle import AWAITING_UNIT_STATES
from qiandao.rules.workdays import ChinaWorkdays
from qiandao.testing import ManualClock, enrol
from qiandao.workflow import timeliness
from qiandao.workflow.context import Context
from qiandao_adapters.sql import SqlStore, make_engine, metadata
from qiandao_adapters.sql import schema as s
from qiandao_adapters.sql.rows import Row, event_row, item_children, item_row

OVERDUE_TARGET_MS = 50.0
BULLETIN_TARGET_MS = 1_000.0
IDLE_JOB_TARGET_MS = 50.0
REMINDER_JOB_TARGET_S = 10.0
DUE_REMINDERS = 10_000  # awaiting assignments whose current reminder is still to send
BENCH_DB = os.environ.get("QIANDAO_BENCH_DB", "qiandao_bench")  # one per concurrent run
BATCH = 10_000
RUNS = 7

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
START = datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI)
SPAN = (NOW - START).total_seconds()
QUARTER = (2026, 3)  # the last complete quarter before NOW
EDITOR = Actor("bench-editor", Role.EDITOR, "zhoushan")

JURISDICTIONS = ("zhoushan", "dinghai", "putuo", "daishan", "shengsi")
JURISDICTION_WEIGHTS = (40, 20, 20, 12, 8)
PEOPLE = 2_000
UNITS = 200
SECTORS = (
    *("中共", "民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "无党派人士"),
    *("共青团", "总工会", "妇联", "青联", "工商联", "科协", "台联", "侨联", "文化艺术界"),
    *("科学技术界", "社会科学界", "经济界", "农业和农村界", "教育界", "体育界", "新闻出版界"),
    *("医药卫生界", "对外友好界", "社会福利和社会保障界", "少数民族界", "特邀人士"),
)
CATEGORIES = (
    "policy_reaction",
    "reform_development_stability",
    "emergency",
    "united_front_opinion",
    "sector_interest",
    "hot_issue",
)
CHANNELS = ("member", "info_officer", "contact_point", "collective", "commission")
EARLY = (  # items younger than 20 days
    ("draft", 10),
    ("submitted", 30),
    ("returned", 5),
    ("in_review", 15),
    ("awaiting_signoff", 10),
    ("issued", 15),
    ("handling", 15),
)
LATE = (
    ("not_adopted", 25),
    ("merged", 3),
    ("withdrawn", 2),
    ("issued", 5),
    ("replied", 5),
    ("closed", 60),
)
ADOPTED = frozenset({"issued", "handling", "replied", "closed"})
OPEN_FIRST = (("pending", 20), ("accepted", 60), ("extension_requested", 10), ("declined", 10))
LEVELS = (
    ("city_cppcc", 30),
    ("city_party_government", 30),
    ("provincial_cppcc", 25),
    ("provincial_party_government", 10),
    ("national_cppcc", 5),
)
RANKS = (
    ("city_leader", 50),
    ("city_principal_leader", 30),
    ("provincial_leader", 15),
    ("national_leader", 5),
)
TITLE = "关于加强海岛渔民养老保障的建议"
BODY = "舟山海岛渔民参保率偏低，缴费年限计算口径不一，建议统一标准、加大补贴、简化续保手续。" * 3
CALENDAR = ChinaWorkdays.official()  # the service's default calendar
DEADLINES = DeadlineRules()
REMINDER_ORDER = (
    DeadlineStatus.DUE_SOON,
    DeadlineStatus.DUE_TODAY,
    DeadlineStatus.OVERDUE,
    DeadlineStatus.VERY_OVERDUE,
)
AWAITING = ("pending", "accepted", "extension_requested")


class Weighted:
    """Draws from ``(value, weight)`` pairs with one ``random()`` call."""

    def __init__(self, pairs: Sequence[tuple[Any, int]]) -> None:
        self.values = [v for v, _ in pairs]
        total = sum(w for _, w in pairs)
        running, self.bounds = 0, []
        for _, weight in pairs:
            running += weight
            self.bounds.append(running / total)

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.bounds, rng.random() * 0.999999999)]


_JURISDICTION = Weighted(list(zip(JURISDICTIONS, JURISDICTION_WEIGHTS, strict=True)))
_EARLY, _LATE, _OPEN = Weighted(EARLY), Weighted(LATE), Weighted(OPEN_FIRST)
_LEVEL, _RANK = Weighted(LEVELS), Weighted(RANKS)
_UNITS_OF = {
    j: [f"unit-{n:03d}" for n in range(UNITS) if n % len(JURISDICTIONS) == k]
    for k, j in enumerate(JURISDICTIONS)
}


def _iso(instant: datetime) -> str:
    return instant.isoformat()


def _review(stage: str, actor: str, role: str, at: str) -> dict[str, Any]:
    return {
        "stage": stage,
        "decision": "passed",
        "actor_id": actor,
        "role": role,
        "at": at,
        "note": "",
    }


class Corpus:
    """``n`` items in creation order; :meth:`rows` gives the rows of items ``[lo, hi)``.

    Documents are built as dicts in the converter's own shape (``check`` proves they
    round-trip), structured into items, and turned into rows by the store's own row mapping,
    credits included (``qiandao_adapters.sql.rows``).

    Commands can act on them: each item is at version 1 with one event in the log (DRAFTED,
    carrying the item as stored: replaying the log gives it back), numbered 1…n in the change
    feed. The periodic job has run up to ``NOW``: every reminder of a deadline status reached
    by then went out (review reminders too) and every rating window that ended was closed,
    except that about ``due_reminders`` awaiting assignments still miss the reminder of their
    current status.
    """

    def __init__(self, n: int, seed: int = 20261120, due_reminders: int = DUE_REMINDERS) -> None:
        self.n = n
        self.seed = seed
        expected_awaiting = 0.1 * n  # about a tenth of the items wait on a unit
        self.due_share = round(10_000 * min(1.0, due_reminders / expected_awaiting))
        self.context = Context(RuleSet.zhoushan(), CALENDAR, NOW, lambda: "corpus")

    def _reminder_due(self, i: int, n: int) -> bool:
        """Whether assignment ``n`` of item ``i`` still misses its current reminder (a fixed,
        evenly spread share)."""
        return (i * 2_654_435_761 + n * 40_503) % 10_000 < self.due_share

    def documents(self, lo: int, hi: int) -> list[dict[str, Any]]:
        """The documents of items ``lo`` to ``hi - 1``."""
        rng = random.Random(self.seed * 7919 + lo)
        return [self._item(i, rng) for i in range(lo, hi)]

    def rows(self, lo: int, hi: int) -> dict[str, list[Row]]:
        """The rows of items ``lo`` to ``hi - 1``, per table name."""
        out: dict[str, list[Row]] = {t.name: [] for t in TABLES}
        for position, doc in enumerate(self.documents(lo, hi), start=lo + 1):
            item = self._reviews_reminded(CONVERTER.structure(doc, Item))
            out[s.items.name].append(item_row(item))
            for table, rows in item_children(item):
                out[table.name].extend(rows)
            out[s.events.name].append({**event_row(drafted(item)), "position": position})
        return out

    def _reviews_reminded(self, item: Item) -> Item:
        """The item with the review reminder the job sent by ``NOW`` when its review stage is
        past its window (the rule the job applies, :func:`timeliness.review_overdue`)."""
        for _, change in timeliness.review_overdue(self.context, item):
            overruns = change.fields.review_overruns if change.fields else None
            item = attrs.evolve(item, review_overruns=overruns or ())
        return item

    def _item(self, i: int, rng: random.Random) -> dict[str, Any]:
        item_id = f"b{i:07d}"
        j = _JURISDICTION(rng)
        created = START + timedelta(seconds=SPAN * (i + rng.random()) / self.n)
        age = (NOW - created).total_seconds() / 86_400
        if age < 3:
            state = ("draft", "submitted", "in_review")[rng.randrange(3)]
        elif age < 20:
            state = _EARLY(rng)
        elif age < 365 and rng.random() < 0.30:
            state = "handling"
        else:
            state = _LATE(rng)
        adopted = state in ADOPTED
        submitted = None if state == "draft" else created + timedelta(hours=1)
        issued = created + timedelta(days=2) if adopted else None
        lead = f"p{rng.randrange(PEOPLE):04d}"
        coauthors = [f"p{rng.randrange(PEOPLE):04d}"] if rng.random() < 0.15 else []
        coauthors = [c for c in coauthors if c != lead]
        merged = [f"p{rng.randrange(PEOPLE):04d}"] if adopted and rng.random() < 0.02 else []
        r = rng.random()
        destinations = (
            ["forward_to_departments"]
            if r < 0.7
            else ["forward_to_departments", "report_to_city_leaders"]
            if r < 0.9
            else ["report_to_principal_leaders_and_province"]
        )
        if not adopted and state not in ("in_review", "awaiting_signoff"):
            destinations = []
        category = CATEGORIES[rng.randrange(len(CATEGORIES))]
        channel = CHANNELS[rng.randrange(len(CHANNELS))]
        sector = "" if rng.random() < 0.1 else SECTORS[rng.randrange(len(SECTORS))]
        urgent = rng.random() < 0.1
        secret = rng.random() < 0.02
        created_iso = _iso(created)

        reviews: list[dict[str, Any]] = []
        if issued is not None:
            at = _iso(issued)
            reviews = [
                _review("preliminary", "editor-1", "editor", at),
                _review("deputy", "deputy-1", "deputy", at),
                _review("signoff", "head-1", "office_head", at),
            ]

        assignment_docs: list[dict[str, Any]] = []
        if state in ("handling", "replied", "closed") and issued is not None:
            units = _UNITS_OF[j]
            count = 2 if rng.random() < 0.2 else 1
            chosen = rng.sample(units, count)
            assigned = issued + timedelta(days=1)
            assigned_day = assigned.date()
            for n, unit_id in enumerate(chosen):
                if state == "handling" and n == 0:
                    a_state = _OPEN(rng)
                elif state == "handling":
                    a_state = "accepted" if rng.random() < 0.5 else "replied"
                else:
                    a_state = "replied"
                due = assigned_day + timedelta(days=21)
                extensions: list[dict[str, Any]] = []
                if rng.random() < 0.05:
                    new_due = due + timedelta(days=14)
                    extensions = [
                        {
                            "requested_at": _iso(assigned + timedelta(days=10)),
                            "workdays": 10,
                            "reason": "需联合调研",
                            "decision": "approved",
                            "decided_by": "editor-1",
                            "decided_at": _iso(assigned + timedelta(days=11)),
                            "new_due": new_due.isoformat(),
                        }
                    ]
                    due = new_due
                declined = a_state == "declined" or rng.random() < 0.03
                replies: list[dict[str, Any]] = []
                rating, rated_at, closes, workdays = "not_rated", None, None, None
                replied_day = None
                if a_state == "replied":
                    days = 3 + int(rng.random() * rng.random() * 40)
                    replied = assigned + timedelta(days=days, hours=rng.random() * 8)
                    if replied > NOW:
                        replied = NOW - timedelta(hours=1)
                    replies = [
                        {"text": "已办理，详见答复。", "by": f"{unit_id}-u", "at": _iso(replied)}
                    ]
                    replied_day = replied.date()
                    workdays = max(0, (replied_day - assigned_day).days * 5 // 7)
                    last_day = replied_day + timedelta(days=21)
                    closes = last_day.isoformat()
                    if state == "closed" or rng.random() < 0.5:
                        rating = ("satisfied", "basically_satisfied", "dissatisfied")[
                            0 if (x := rng.random()) < 0.65 else 1 if x < 0.93 else 2
                        ]
                        rated_at = _iso(replied + timedelta(days=2))
                    elif last_day < NOW.date():  # the job closed the window unrated
                        rated_at = _iso(end_of_day(last_day))
                a_id = f"{item_id}-a{n}"
                assignment_docs.append(
                    {
                        "id": a_id,
                        "unit_id": unit_id,
                        "lead": n == 0,
                        "state": a_state,
                        "assigned_at": _iso(assigned),
                        "due": due.isoformat(),
                        "decline_until": (assigned_day + timedelta(days=4)).isoformat(),
                        "provisional": False,
                        "extensions": extensions,
                        "replies": replies,
                        "rating": rating,
                        "rated_at": rated_at,
                        "rating_closes": closes,
                        "rating_provisional": False,
                        "decline_reason": "不属于本单位职责范围" if declined else None,
                        "reassigned_to": None,
                        "rehandles": 0,
                        "reminders": self._reminders(a_state, due, self._reminder_due(i, n)),
                        "reply_workdays": workdays,
                    }
                )

        feedback_docs: list[dict[str, Any]] = []
        if issued is not None:
            for kind, chance in (("adoption", 0.12), ("instruction", 0.04)):
                if rng.random() >= chance:
                    continue
                on = min(issued.date() + timedelta(days=rng.randrange(10, 60)), NOW.date())
                level = _LEVEL(rng) if kind == "adoption" else None
                rank = _RANK(rng) if kind == "instruction" else None
                feedback_docs.append(
                    {
                        "kind": kind,
                        "on": on.isoformat(),
                        "recorded_by": "editor-1",
                        "at": _iso(issued + timedelta(days=5)),
                        "text": "采用情况" if kind == "adoption" else "请研究落实",
                        "level": level,
                        "leader": "某领导" if rank else None,
                        "rank": rank,
                        "shared_with_units": False,
                    }
                )

        text_doc = {
            "number": 1,
            "title": TITLE,
            "body": BODY,
            "editor_id": lead,
            "at": created_iso,
        }
        doc = {
            "id": item_id,
            "version": 1,
            "jurisdiction": j,
            "state": state,
            "lead_author_id": lead,
            "texts": [text_doc],
            "category": category,
            "channel": channel,
            "created_at": created_iso,
            "sector": sector,
            "coauthor_ids": coauthors,
            "urgent": urgent,
            "secret": secret,
            "body_withheld": False,
            "opted_out": [],
            "destinations": destinations,
            "reviews": reviews,
            "assignments": assignment_docs,
            "feedback": feedback_docs,
            "submitted_at": None if submitted is None else _iso(submitted),
            "issued_at": None if issued is None else _iso(issued),
            "closed_at": None,
            "commission_id": None,
            "merged_into": None,
            "merged_from": [],
            "merged_authors": merged,
            "reported_from": None,
            "reported_as": None,
            "rehandles": 0,
            "state_since": None,  # as stored before 0003: the lanes derive it from the doc
            "review_overruns": [],
        }
        return doc

    @staticmethod
    def _reminders(state: str, due: Any, missing: bool) -> list[str]:
        """The reminders the job sent by ``NOW`` (each status reached, in order), less the
        current one when ``missing``."""
        if state not in AWAITING:
            return []
        status = classify(CALENDAR, due, NOW, DEADLINES)
        if status not in REMINDER_ORDER:
            return []
        reached = REMINDER_ORDER[: REMINDER_ORDER.index(status) + (0 if missing else 1)]
        return sorted(s.value for s in reached)


def drafted(item: Item) -> Event:
    """The one event of a bulk item: DRAFTED, carrying the item as stored (version 1)."""
    return Event(
        f"{item.id}-e1",
        item.id,
        1,
        EventKind.DRAFTED,
        item.lead_author_id,
        item.created_at,
        Change(item=item),
    )


ITEM_TABLES = (
    s.items,
    s.item_authors,
    s.assignments,
    s.text_versions,
    s.feedback,
    s.credits,
    s.review_overruns,
)
TABLES = (*ITEM_TABLES, s.events)
"""Every table the corpus fills, parents first."""


def check(corpus: Corpus, sample: int = 2_000) -> None:
    """The documents round-trip through the converter, the rows fill exactly ``TABLES``, and
    each item's log replays to it."""
    for doc in corpus.documents(0, min(sample, corpus.n)):
        item = CONVERTER.structure(doc, Item)
        assert json.loads(item_row(item)["doc"]) == doc, doc["id"]
        assert [t for t, _ in item_children(item)] == list(ITEM_TABLES[1:])
        replayed = replay([drafted(item)])
        assert replayed is not None
        assert attrs.evolve(replayed, state_since=None) == item, doc["id"]


# --- databases ------------------------------------------------------------------------------


@contextmanager
def server_database(admin_url: str, name: str = BENCH_DB) -> Iterator[str]:
    """A fresh database ``name`` on the server of ``admin_url``; dropped afterwards."""
    url = make_url(admin_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    mysql = url.get_backend_name() in ("mysql", "mariadb")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            suffix = " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" if mysql else ""
            conn.execute(text(f"CREATE DATABASE {name}{suffix}"))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if not mysql:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                    )
                )
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@contextmanager
def sqlite_database(path: Path) -> Iterator[str]:
    """A SQLite file, removed afterwards."""
    try:
        yield f"sqlite:///{path}"
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def fresh_schema(engine: Engine) -> None:
    """Every qiandao table, empty."""
    metadata.drop_all(engine)
    metadata.create_all(engine)


def bulk_load(engine: Engine, corpus: Corpus, report: Callable[[str], None]) -> float:
    """Load ``corpus`` into a fresh schema; indexes are built after the rows. Returns seconds."""
    fresh_schema(engine)
    indexes = [index for table in TABLES for index in table.indexes]
    name = engine.dialect.name
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    started = time.perf_counter()
    for lo in range(0, corpus.n, BATCH):
        rows = corpus.rows(lo, min(lo + BATCH, corpus.n))
        with engine.begin() as conn:
            if name == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO off")
            for table in TABLES:
                if rows[table.name]:
                    conn.execute(insert(table), rows[table.name])
        done = min(lo + BATCH, corpus.n)
        with engine.begin() as conn:  # the change feed's head: the last position given
            conn.execute(s.event_log_head.update().values(position=done))
        if done % (BATCH * 20) == 0 or done == corpus.n:
            elapsed = time.perf_counter() - started
            report(f"    {done:>9,} items loaded, {elapsed:6.1f} s ({done / elapsed:,.0f}/s)")
    index_started = time.perf_counter()
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    report(f"    indexes built in {time.perf_counter() - index_started:.1f} s")
    analyse_started = time.perf_counter()
    if name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in TABLES:
                conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")
    elif name == "sqlite":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.begin() as conn:
            for table in TABLES:
                conn.exec_driver_sql(f"ANALYZE TABLE {table.name}").all()
    report(f"    VACUUM/ANALYZE in {time.perf_counter() - analyse_started:.1f} s")
    return time.perf_counter() - started


# --- measuring ------------------------------------------------------------------------------


class Statements:
    """Records the SQL statements (with parameters) an engine executes while active."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, Any]] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.active:
            self.seen.append((statement, params))

    @contextmanager
    def capture(self) -> Iterator[list[tuple[str, Any]]]:
        self.seen = []
        self.active = True
        try:
            yield self.seen
        finally:
            self.active = False


def _wall_ms(call: Callable[[], object]) -> float:
    """Wall time of one run of ``call`` in milliseconds, after a full collection."""
    gc.collect()
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def median_ms(call: Callable[[], object], runs: int = RUNS) -> float:
    """Median wall time of ``call`` in milliseconds (after one warm-up run)."""
    call()
    return statistics.median(_wall_ms(call) for _ in range(runs))


def paired_medians_ms(
    call: Callable[[], object], peer: Callable[[], object], runs: int = RUNS
) -> tuple[float, float]:
    """Median wall times of ``call`` and of its ``peer`` in milliseconds, the two run in
    turn (after one warm-up each), so a machine that slows down or speeds up during the
    measurement weighs on both sides of their ratio alike."""
    call()
    peer()
    pairs = [(_wall_ms(call), _wall_ms(peer)) for _ in range(runs)]
    return statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs)


def explain(engine: Engine, statement: str, params: Any) -> list[str]:
    """The plan of one captured statement, as the database prints it."""
    name = engine.dialect.name
    with engine.connect() as conn:
        if name == "postgresql":
            prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) "
        elif name == "sqlite":
            prefix = "EXPLAIN QUERY PLAN "
        else:
            prefix = "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + statement, params).all()
    if name == "sqlite":
        return [f"{'  ' * (1 if r[1] else 0)}{r[-1]}" for r in rows]
    if name == "postgresql":
        return [r[0] for r in rows]
    return [" | ".join(str(v) for v in r) for r in rows]


def run_sql(engine: Engine, captured: Sequence[tuple[str, Any]]) -> None:
    """Run the captured reads as the driver received them, one connection each (the audit
    record an audited listing writes, and its transaction control, are not the peer's work)."""
    for statement, params in captured:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        with engine.connect() as conn:
            conn.exec_driver_sql(statement, params).all()


def published_cursor(store: SqlStore, depth: int) -> str | None:
    """The cursor ``Qiandao.published`` gives after ``depth`` rows (after the last row when
    there are fewer; ``None`` when there are none)."""
    order = ItemOrder.ISSUED_NEWEST_FIRST
    with store.unit_of_work() as uow:
        found = uow.items.find(ItemQuery(published_only=True, order=order, limit=depth))
    if not found:
        return None
    return encode_position("published", "public", order_position(order, found[-1]))


def bench_store(engine: Engine) -> SqlStore:
    """The store, encrypting at rest: under ``QIANDAO_KEYS`` / ``QIANDAO_KEY_FILE`` when set,
    else under a key generated once per run (the bulk rows are clear: read as legacy clear
    values)."""
    if os.environ.get("QIANDAO_KEYS") or os.environ.get("QIANDAO_KEY_FILE"):
        return SqlStore(engine)
    return SqlStore(engine, keys=_run_keys())


@functools.cache
def _run_keys() -> Any:
    from qiandao_adapters.crypto import KeyRing

    return KeyRing.generate(algorithm="SM4-GCM")


def measure_jobs(engine: Engine, *, plans: bool) -> dict[str, float]:
    """The periodic job on the loaded corpus at ``NOW``: the first pass sends the reminders
    still due (about ``DUE_REMINDERS``); later passes find nothing due (median), beside the bare
    SQL of the reads such a pass issues."""
    store = bench_store(engine)
    qd = Qiandao(store, clock=ManualClock(NOW), rules=RuleSet.zhoushan(), hasher=None)
    gc.collect()
    started = time.perf_counter()
    first = qd.run_due_jobs()
    first_s = time.perf_counter() - started
    recorder = Statements(engine)
    with recorder.capture() as idle_sql:
        again = qd.run_due_jobs()
    assert again.reminders_sent == again.ratings_closed == again.conflicts == 0, again
    print(
        f"    first job pass: {first.reminders_sent:,} reminders"
        f" ({', '.join(f'{s.value} {n:,}' for s, n in first.reminders.items() if n)}),"
        f" {first.ratings_closed:,} rating windows closed, {first.reviews_reminded:,} review"
        f" reminders, {first.conflicts} conflicts; a pass with nothing due sends"
        f" {len(idle_sql)} statements"
    )
    figures = {
        "job_first": first_s * 1000,
        "job_first_reminders": float(first.reminders_sent),
        "job_idle": median_ms(qd.run_due_jobs),
        "job_idle_sql": median_ms(lambda: run_sql(engine, idle_sql)),
    }
    if plans:
        reads = [(q, p) for q, p in idle_sql if q.lstrip().upper().startswith("SELECT")]
        for number, (statement, params) in enumerate(reads, start=1):
            if "qd_assignments" not in statement:
                continue
            print(f"    -- EXPLAIN job pass with nothing due, read {number}/{len(reads)}")
            for line in explain(engine, statement, params):
                print(f"       {line}")
    event.remove(engine, "before_cursor_execute", recorder._record)
    return figures


def measure_queries(engine: Engine, *, plans: bool) -> dict[str, float]:
    """Overdue top 100 and the quarterly bulletin: service, store and bare SQL medians."""
    store = bench_store(engine)
    enrol(store, EDITOR)  # every query checks its actor's account
    qd = Qiandao(store, clock=ManualClock(NOW), rules=RuleSet.zhoushan(), hasher=None)
    recorder = Statements(engine)
    today = local_day(NOW)
    overdue_query = AssignmentQuery(
        jurisdiction=EDITOR.jurisdiction,
        states=AWAITING_UNIT_STATES,
        due_before=today,
        limit=100,
    )
    stats_query = StatisticsQuery(EDITOR.jurisdiction, Period.quarter(*QUARTER), today)
    deep = published_cursor(store, 10_000)

    def store_overdue() -> object:
        with store.unit_of_work() as uow:
            return uow.items.assignments(overdue_query)

    def store_statistics() -> object:
        with store.unit_of_work() as uow:
            return uow.items.statistics(stats_query)

    with recorder.capture() as overdue_sql:
        found = qd.overdue(EDITOR, limit=100).items
    with recorder.capture() as bulletin_sql:
        bulletin = qd.quarterly_bulletin(EDITOR, *QUARTER)
    assert len(found) == 100, len(found)
    overdue, overdue_peer = paired_medians_ms(
        lambda: qd.overdue(EDITOR, limit=100), lambda: run_sql(engine, overdue_sql)
    )
    figures = {
        "overdue": overdue,
        "overdue_store": median_ms(store_overdue),
        "overdue_sql": overdue_peer,
        "bulletin": median_ms(lambda: qd.quarterly_bulletin(EDITOR, *QUARTER)),
        "bulletin_store": median_ms(store_statistics),
        "bulletin_sql": median_ms(lambda: run_sql(engine, bulletin_sql)),
        "very_overdue": median_ms(lambda: qd.overdue(EDITOR, very=True, limit=100)),
        "inbox": median_ms(lambda: qd.inbox(EDITOR, limit=50)),
        "published": median_ms(lambda: qd.published(EDITOR, limit=50)),
        "published_deep": median_ms(lambda: qd.published(EDITOR, limit=50, cursor=deep)),
        "detail": median_ms(lambda: qd.item_detail(EDITOR, found[0][0].id)),
    }
    print(
        f"    bulletin {QUARTER[0]}Q{QUARTER[1]} of {EDITOR.jurisdiction}: "
        f"{len(bulletin.people):,} people, {len(bulletin.units)} units, "
        f"{sum(g.submitted for g in bulletin.by_category):,} items submitted; "
        f"oldest overdue due {found[0][1].assignment.due}"
    )
    if plans:
        for title, captured in (("overdue top 100", overdue_sql), ("bulletin", bulletin_sql)):
            for number, (statement, params) in enumerate(captured, start=1):
                print(f"    -- EXPLAIN {title}, statement {number}/{len(captured)}")
                for line in explain(engine, statement, params):
                    print(f"       {line}")
    event.remove(engine, "before_cursor_execute", recorder._record)
    return figures


def report_figures(name: str, n: int, figures: dict[str, float], targets: bool) -> None:
    print(f"  {name}, {n:,} items (median of {RUNS}):")
    rows = (
        ("overdue top 100: Qiandao.overdue", "overdue", OVERDUE_TARGET_MS),
        ("  store assignments(query)", "overdue_store", None),
        ("  bare SQL", "overdue_sql", None),
        ("quarterly bulletin: Qiandao.quarterly_bulletin", "bulletin", BULLETIN_TARGET_MS),
        ("  store statistics(query)", "bulletin_store", None),
        ("  bare SQL (3 statements)", "bulletin_sql", None),
        ("very overdue top 100", "very_overdue", None),
        ("editor inbox, 50", "inbox", None),
        ("published, first page of 50", "published", None),
        ("published, page of 50 after 10,000 rows (cursor)", "published_deep", None),
        ("item detail", "detail", None),
    )
    for label, key, target in rows:
        line = f"    {label:<48} {figures[key]:>9.1f} ms"
        if target is not None and targets:
            verdict = "met" if figures[key] <= target else "MISSED"
            line += f"   target {target:,.0f} ms: {figures[key] / target:.3f}× ({verdict})"
        print(line)
    if "job_idle" not in figures:
        return
    idle, bare = figures["job_idle"], figures["job_idle_sql"]
    verdict = "met" if idle <= IDLE_JOB_TARGET_MS else "MISSED"
    print(
        f"    {'run_due_jobs, nothing due':<48} {idle:>9.1f} ms   target"
        f" {IDLE_JOB_TARGET_MS:,.0f} ms: {idle / IDLE_JOB_TARGET_MS:.3f}× ({verdict})"
    )
    print(f"    {'  bare SQL of its reads':<48} {bare:>9.1f} ms   ratio {idle / bare:.1f}×")
    first_s = figures["job_first"] / 1000
    reminders = int(figures["job_first_reminders"])
    verdict = "met" if first_s <= REMINDER_JOB_TARGET_S else "MISSED"
    print(
        f"    {f'run_due_jobs, {reminders:,} reminders due':<48} {first_s:>9.2f} s "
        f"   target {REMINDER_JOB_TARGET_S:,.0f} s: {first_s / REMINDER_JOB_TARGET_S:.3f}×"
        f" ({verdict}); {figures['job_first'] / max(reminders, 1):.2f} ms per reminder"
    )


# --- main -----------------------------------------------------------------------------------


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + str(conn.exec_driver_sql("select sqlite_version()").scalar_one())
        return str(conn.exec_driver_sql("select version()").scalar_one()).split(" on ")[0]


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--quick", action="store_true", help="10,000 items")
    parser.add_argument("--lifecycles", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "QIANDAO_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--mysql-url",
        default=os.environ.get("QIANDAO_BENCH_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
    )
    parser.add_argument("--no-plans", action="store_true")
    parser.add_argument("--no-jobs", action="store_true", help="leave out the periodic job")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else args.items
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; sizes {sizes}")
    for n in sizes:
        check(Corpus(n))
    print("  corpus documents checked against the converter")

    with tempfile.TemporaryDirectory(prefix="qiandao-bench-") as directory:
        for backend in backends:
            if backend == "sqlite":
                context: Any = sqlite_database(Path(directory) / "bench.sqlite3")
            elif backend == "postgresql":
                context = server_database(args.pg_url)
            elif backend == "mysql":
                context = server_database(args.mysql_url)
            else:
                parser.error(f"unknown backend {backend}")
            with context as url:
                run_backend(
                    backend,
                    url,
                    sizes,
                    args.lifecycles,
                    plans=not args.no_plans,
                    jobs=not args.no_jobs,
                )


def run_backend(
    backend: str, url: str, sizes: Sequence[int], count: int, *, plans: bool, jobs: bool = True
) -> None:
    """Lifecycles, then each size loaded and queried (then the periodic job run on it), on one
    database."""
    engine = make_engine(url)
    try:
        print(f"\n== {backend}: {server_version(engine)}")
        fresh_schema(engine)
        rate = count / lifecycles(SqlStore(engine), count)
        print(f"  full lifecycles through Qiandao: {rate:,.0f} items/s ({count} × 8 commands)")
        for n in sizes:
            print(f"  bulk load of {n:,} items")
            seconds = bulk_load(engine, Corpus(n), print)
            print(f"    total {seconds:.1f} s")
            figures = measure_queries(engine, plans=plans)
            if jobs:
                figures |= measure_jobs(engine, plans=plans)  # writes: after the reads
            report_figures(backend, n, figures, targets=backend == "postgresql")
        metadata.drop_all(engine)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
